//! One file's transaction: COPY into a landing table, quarantine rejects, then merge
//! the valid rows into `raw.sales` and its key table.
//!
//! The file's valid rows are copied straight into a landing table,
//! `raw.sales_landing_<load id>`: unindexed, range partitioned by month like `raw.sales`,
//! with each month's table created when the month's first row arrives (the COPY pauses
//! for it). Rejects wait in memory in batches and go to a temporary reject stage. Then
//! one of two paths, chosen per file from facts, not flags:
//! - **append**: sale ids came strictly increasing (no duplicates in the file) and none
//!   of them is stored yet (one index range probe proves it). Every valid row is new:
//!   the landing tables of months that `raw.sales` lacks become its partitions as they
//!   are (attaching builds their indexes in one sorted pass each, instead of row by row),
//!   and the rows of months it has are inserted into them. An empty key table is filled
//!   the same way (primary key dropped, filled, rebuilt).
//! - **merge**: the general case. Rows are de-duplicated (the last occurrence wins, also
//!   when it is a reject: then the sale id's valid rows count as duplicates) and
//!   classified against the key table as new, updated or unchanged, by narrow rows (sale
//!   id, line, date, hash); updated sales lose their old version (wherever its month was)
//!   and get the new one. The landing tables of months that `raw.sales` lacks lose their
//!   duplicates and unchanged re-sends and are then attached as on the append path.

use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use postgres::types::ToSql;
use postgres::{Client, CopyInWriter, Transaction};

use super::copy::{self, RowKind, RowWriter, SaleFormat};
use super::key_spool::KeySpool;
use super::{LoadError, LoadOutcome, LoadRequest, RowSource, Streamed};
use crate::report::Counts;

/// The reject stage takes its column types from the quarantine itself: they are declared
/// once, in the migrations.
fn create_reject_stage() -> String {
    format!(
        "create temp table stage_rejects on commit drop as
           select {} from raw.sales_rejects with no data",
        copy::REJECT_COLUMNS
    )
}

/// The columns of `raw.sales`, landing tables and `incoming`, in one order.
pub(super) const SALES_COLUMNS: &str = "sale_id, product_id, product_name, brand, category, retailer_id, \
     retailer_name, channel, location, quantity, price, currency, sale_date, dq_flags, \
     load_id, source_line, row_hash, loaded_at";

/// The columns of `raw.sales_rejects` that keep a reject's fields (migrations 0002 and
/// 0003): the reject stage's columns of the same names, NULL where a field was missing or
/// invalid.
pub(super) const REJECT_FIELD_COLUMNS: &str = "sale_id, product_id, product_name, brand, category, \
     retailer_id, retailer_name, channel, location, quantity, price, currency, sale_date";

/// Rejects wait in memory until they fill this many bytes, then go to the reject stage
/// in one COPY: the landing COPY pauses once per batch, not once per reject.
const REJECT_BATCH_BYTES: usize = 1 << 20;

/// The transaction of one file, with timing of each step in the debug log.
pub(super) struct Step<'c, 't> {
    pub(super) transaction: &'t mut Transaction<'c>,
}

impl Step<'_, '_> {
    pub(super) fn run(
        &mut self,
        label: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, LoadError> {
        let started = Instant::now();
        let rows = self
            .transaction
            .execute(sql, params)
            .map_err(|source| LoadError::database(label, source))?;
        tracing::debug!(
            step = label,
            rows,
            ms = started.elapsed().as_millis() as u64,
            "merge step"
        );
        Ok(rows)
    }

    pub(super) fn batch(&mut self, label: &'static str, sql: &str) -> Result<(), LoadError> {
        let started = Instant::now();
        self.transaction
            .batch_execute(sql)
            .map_err(|source| LoadError::database(label, source))?;
        tracing::debug!(
            step = label,
            ms = started.elapsed().as_millis() as u64,
            "merge step"
        );
        Ok(())
    }

    pub(super) fn query_one(
        &mut self,
        label: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<postgres::Row, LoadError> {
        self.transaction
            .query_one(sql, params)
            .map_err(|source| LoadError::database(label, source))
    }
}

pub(super) fn merge_file<E, S: RowSource<Error = E>>(
    client: &mut Client,
    request: &LoadRequest<'_>,
    load_id: Option<i64>,
    open: impl FnOnce() -> Result<S, E>,
) -> Result<Result<LoadOutcome, E>, LoadError> {
    let db = |context| move |source| LoadError::database(context, source);
    let mut transaction = client
        .transaction()
        .map_err(db("starting the transaction"))?;
    // Rows of a dry run carry load id 0, which no real load has; they are rolled back.
    let load_id_value = load_id.unwrap_or(0);
    let mut landing = Landing::create(&mut transaction, load_id_value)?;
    let mut source = match open() {
        Ok(source) => source,
        Err(input_error) => return Ok(Err(input_error)),
    };
    let started = Instant::now();
    let streamed = match landing.fill(&mut transaction, &mut source)? {
        Ok(streamed) => streamed,
        // Dropping the transaction rolls back.
        Err(input_error) => return Ok(Err(input_error)),
    };
    tracing::debug!(
        step = "copy",
        rows = streamed.rows_read,
        months = landing.months.len(),
        reject_batches = landing.reject_batches,
        ms = started.elapsed().as_millis() as u64,
        "merge step"
    );

    let mut step = Step {
        transaction: &mut transaction,
    };
    if streamed.rows_rejected > 0 {
        step.run(
            "quarantining rejected rows",
            &format!(
                "insert into raw.sales_rejects
                   (load_id, source_line, raw_record, reasons, message, {REJECT_FIELD_COLUMNS})
                 select $1, source_line, raw_record, reasons, message, {REJECT_FIELD_COLUMNS}
                 from stage_rejects"
            ),
            &[&load_id_value],
        )?;
    }

    let valid = streamed.rows_read - streamed.rows_rejected;
    let append = streamed.ids_strictly_increasing && none_stored(&mut step, &streamed)?;
    let counts = if append {
        Counts {
            read: streamed.rows_read,
            loaded: valid,
            rejected: streamed.rows_rejected,
            ..Counts::default()
        }
    } else {
        classify(&mut step, &streamed, &landing, valid)?
    };
    debug_assert!(counts.is_balanced());

    if let Some(limit) = request.max_reject_rate {
        let rate = counts.reject_rate();
        if rate > limit {
            transaction
                .rollback()
                .map_err(db("rolling back the file"))?;
            return Ok(Ok(LoadOutcome::RejectRateExceeded {
                load_id,
                counts,
                rate,
                limit,
            }));
        }
    }

    let mut step = Step {
        transaction: &mut transaction,
    };
    // What this load fills from empty (both paths create the missing months' partitions):
    // vacuumed and analyzed after the commit.
    let new_months = landing.new_months(&existing_partitions(&mut step)?);
    let keys_were_empty = keys_empty(&mut step)?;
    let mut new_tables: Vec<String> = new_months.iter().copied().map(partition_name).collect();
    if keys_were_empty {
        new_tables.push("raw.sale_keys".to_string());
    }
    if append {
        let keys = match landing.keys.take() {
            Some(spool) => KeyRows::Spooled(spool),
            // From the whole landing table, before its months move out of it. Into a filled
            // key table in sale id order: the landing table gives them month by month, and
            // 36 interleaved runs would split the key index's pages all over the ids' range.
            None => KeyRows::Selected(format!(
                "select sale_id, sale_date, row_hash, load_id from {}{}",
                landing.name,
                if keys_were_empty {
                    ""
                } else {
                    " order by sale_id"
                }
            )),
        };
        append_rows(&mut step, &landing, &new_months, keys, keys_were_empty)?;
    } else {
        merge_rows(&mut step, &landing, &new_months, &counts, keys_were_empty)?;
    }
    step.batch(
        "dropping the landing table",
        &format!("drop table {}", landing.name),
    )?;

    match load_id {
        Some(load_id) => {
            super::ledger::Ledger::finish(
                &mut transaction,
                load_id,
                &counts,
                Some(&streamed.header),
            )
            .map_err(db("writing the load ledger"))?;
            transaction.commit().map_err(db("committing the file"))?;
            vacuum_new_tables(client, &new_tables);
        }
        None => transaction
            .rollback()
            .map_err(db("rolling back the dry run"))?,
    }
    Ok(Ok(LoadOutcome::Loaded { load_id, counts }))
}

/// The table a file's valid rows are copied into, and the months it has tables for.
struct Landing {
    /// `raw.sales_landing_<load id>`.
    name: String,
    months: BTreeSet<NaiveDate>,
    /// How many batches of rejects went to the reject stage.
    reject_batches: u64,
    /// The keys of the valid sales, while the append path may take them.
    keys: Option<KeySpool>,
}

/// The COPY stream into the landing table, buffered.
type LandingCopy<'t> = BufWriter<CopyInWriter<'t>>;

impl Landing {
    /// Creates the landing table and the reject stage, in the file's transaction.
    fn create(transaction: &mut Transaction<'_>, load_id: i64) -> Result<Landing, LoadError> {
        let name = format!("raw.sales_landing_{}", load_id.max(0));
        // One timestamp per load, taken under the load lock: increasing in commit order.
        // It and the load id are the landing table's defaults, so rows need not carry them.
        let loaded_at: String = transaction
            .query_one("select clock_timestamp()::text", &[])
            .map_err(|source| LoadError::database("reading the clock", source))?
            .get(0);
        transaction
            .batch_execute(&format!(
                "{reject_stage};
                 create table {name} (like raw.sales including defaults)
                   partition by range (sale_date);
                 alter table {name} alter column load_id set default {load_id},
                   alter column loaded_at set default '{loaded_at}'::timestamptz;",
                reject_stage = create_reject_stage()
            ))
            .map_err(|source| LoadError::database("creating the landing table", source))?;
        Ok(Landing {
            name,
            months: BTreeSet::new(),
            reject_batches: 0,
            keys: KeySpool::new(load_id),
        })
    }

    /// `raw.sales_landing_7_2024_02`: the landing table's table for February 2024.
    fn month_table(&self, month: NaiveDate) -> String {
        format!("{}_{:04}_{:02}", self.name, month.year(), month.month())
    }

    /// The CHECK constraint a month's table is born with: its bounds, so that attaching
    /// it to `raw.sales` need not scan it to prove them (free on an empty table).
    fn bounds_constraint(&self, month: NaiveDate) -> String {
        let table = self.month_table(month);
        format!("{}_bounds", table.trim_start_matches("raw."))
    }

    /// The months of the file that `raw.sales` has no partition for yet, given the names
    /// of those it has.
    fn new_months(&self, existing: &BTreeSet<String>) -> Vec<NaiveDate> {
        self.months
            .iter()
            .filter(|month| !existing.contains(&partition_name(**month)))
            .copied()
            .collect()
    }

    /// The statements that make the landing tables of `months` partitions of `raw.sales`:
    /// attaching builds their indexes, one sorted pass each, instead of row by row.
    fn attach_sql(&self, months: &[NaiveDate]) -> String {
        let mut sql = String::new();
        for month in months {
            let partition = partition_name(*month);
            sql.push_str(&format!(
                "alter table {landing} detach partition {table};
                 alter table {table} rename to {short};
                 alter table raw.sales attach partition {partition}
                   for values from ('{month}') to ('{next}');
                 alter table {partition} drop constraint {bounds};",
                landing = self.name,
                table = self.month_table(*month),
                short = partition.trim_start_matches("raw."),
                next = next_month(*month),
                bounds = self.bounds_constraint(*month),
            ));
        }
        sql
    }

    /// Pulls every row of `source` into the landing table (valid rows) and the reject
    /// stage (rejects). The outer error is the database's, the inner one the source's.
    fn fill<S: RowSource>(
        &mut self,
        transaction: &mut Transaction<'_>,
        source: &mut S,
    ) -> Result<Result<Streamed, S::Error>, LoadError> {
        let mut rows = RowWriter::new(SaleFormat::Binary);
        let mut rejects: Vec<u8> = Vec::new();
        let mut landing = self.start_copy(transaction)?;
        loop {
            match source.next_row(&mut rows) {
                Ok(true) => {}
                Ok(false) => break,
                // Dropping the COPY stream aborts it.
                Err(input_error) => return Ok(Err(input_error)),
            }
            match rows.row() {
                (RowKind::Sale { month, key }, row) => {
                    if self.keys.as_mut().is_some_and(|keys| !keys.push(&key)) {
                        self.keys = None;
                    }
                    if !self.months.contains(&month) {
                        self.finish_copy(landing)?;
                        self.add_month(transaction, month)?;
                        landing = self.start_copy(transaction)?;
                    }
                    landing.write_all(row).map_err(LoadError::Copy)?;
                }
                (RowKind::Reject, row) => {
                    rejects.extend_from_slice(row);
                    if rejects.len() >= REJECT_BATCH_BYTES {
                        self.finish_copy(landing)?;
                        self.copy_rejects(transaction, &rejects)?;
                        rejects.clear();
                        landing = self.start_copy(transaction)?;
                    }
                }
            }
        }
        self.finish_copy(landing)?;
        if !rejects.is_empty() {
            self.copy_rejects(transaction, &rejects)?;
        }
        Ok(Ok(source.streamed()))
    }

    fn start_copy<'t>(
        &self,
        transaction: &'t mut Transaction<'_>,
    ) -> Result<LandingCopy<'t>, LoadError> {
        let writer = transaction
            .copy_in(&format!(
                "copy {} ({}) from stdin (format binary)",
                self.name,
                copy::LANDING_COLUMNS,
            ))
            .map_err(|source| LoadError::database("starting COPY", source))?;
        let mut landing = BufWriter::with_capacity(1 << 18, writer);
        landing
            .write_all(copy::BINARY_HEADER)
            .map_err(LoadError::Copy)?;
        Ok(landing)
    }

    fn finish_copy(&self, mut landing: LandingCopy<'_>) -> Result<u64, LoadError> {
        landing
            .write_all(copy::BINARY_TRAILER)
            .map_err(LoadError::Copy)?;
        landing
            .into_inner()
            .map_err(|error| LoadError::Copy(error.into_error()))?
            .finish()
            .map_err(|source| LoadError::database("finishing COPY", source))
    }

    /// Creates the month's table, unindexed, as a partition of the landing table.
    fn add_month(
        &mut self,
        transaction: &mut Transaction<'_>,
        month: NaiveDate,
    ) -> Result<(), LoadError> {
        let next = next_month(month);
        transaction
            .batch_execute(&format!(
                "create table {table} (like raw.sales including defaults,
                   constraint {bounds} check (sale_date >= '{month}' and sale_date < '{next}'));
                 alter table {landing} attach partition {table}
                   for values from ('{month}') to ('{next}');",
                table = self.month_table(month),
                bounds = self.bounds_constraint(month),
                landing = self.name,
            ))
            .map_err(|source| LoadError::database("creating a landing month", source))?;
        self.months.insert(month);
        Ok(())
    }

    fn copy_rejects(
        &mut self,
        transaction: &mut Transaction<'_>,
        rows: &[u8],
    ) -> Result<(), LoadError> {
        let mut writer = transaction
            .copy_in(&format!(
                "copy stage_rejects ({}) from stdin",
                copy::REJECT_COLUMNS
            ))
            .map_err(|source| LoadError::database("starting COPY of rejects", source))?;
        writer.write_all(rows).map_err(LoadError::Copy)?;
        writer
            .finish()
            .map_err(|source| LoadError::database("finishing COPY of rejects", source))?;
        self.reject_batches += 1;
        Ok(())
    }
}

/// True when no sale id of the file is stored yet: one range probe of the key index.
fn none_stored(step: &mut Step<'_, '_>, streamed: &Streamed) -> Result<bool, LoadError> {
    let Some((low, high)) = streamed.sale_id_range else {
        return Ok(true);
    };
    let stored: bool = step
        .query_one(
            "checking for stored sale ids",
            "select exists (select 1 from raw.sale_keys where sale_id between $1 and $2)",
            &[&low, &high],
        )?
        .get(0);
    Ok(!stored)
}

/// De-duplicates and classifies the valid rows into the temp table `incoming`: one row per
/// sale, the line that stands for it and what the key table holds of it. Narrow: the rows
/// themselves stay in the landing table, found again by their line.
fn classify(
    step: &mut Step<'_, '_>,
    streamed: &Streamed,
    landing: &Landing,
    valid: u64,
) -> Result<Counts, LoadError> {
    let source = if streamed.ids_strictly_increasing {
        format!(
            "(select {INCOMING_COLUMNS}, false as repeated from {})",
            landing.name
        )
    } else {
        // The last occurrence of a sale id in the file wins, unless a reject overrides it.
        format!(
            "(select * from (select distinct on (sale_id) {INCOMING_COLUMNS},
                                    coalesce(lead(sale_id) over by_line = sale_id, false)
                                      as repeated
                             from {}
                             window by_line as (order by sale_id, source_line desc)
                             order by sale_id, source_line desc) last_valid
              where not {})",
            landing.name,
            overridden_by_a_later_reject("last_valid")
        )
    };
    let distinct = step.run(
        "de-duplicating the file's rows",
        &format!(
            "create temp table incoming on commit drop as
             select s.sale_id, s.source_line, s.sale_date, s.row_hash, s.load_id, s.repeated,
                    k.sale_date as old_sale_date, k.row_hash as old_row_hash
             from {source} s left join raw.sale_keys k using (sale_id)"
        ),
        &[],
    )?;
    // Statistics for the joins below, which the planner would otherwise guess blind: that
    // few of its rows are repeated or unchanged is what makes them cheap.
    step.batch("analyzing the classified rows", "analyze incoming")?;
    let row = step.query_one(
        "classifying rows",
        "select count(*) filter (where old_row_hash is null) as new,
                count(*) filter (where old_row_hash <> row_hash) as changed,
                count(*) filter (where old_row_hash = row_hash) as same
         from incoming",
        &[],
    )?;
    Ok(Counts {
        read: streamed.rows_read,
        loaded: row.get::<_, i64>("new") as u64,
        updated: row.get::<_, i64>("changed") as u64,
        unchanged: row.get::<_, i64>("same") as u64,
        duplicate: valid - distinct,
        rejected: streamed.rows_rejected,
        superseded: 0,
    })
}

/// True for a landed row (named `row`) when a later line of the file rejects the same sale:
/// the file's last word on that sale is unusable, so none of its valid lines goes in (they
/// count as duplicates) and the sale is left as stored, as a rejected re-send in a later file
/// would leave it.
fn overridden_by_a_later_reject(row: &str) -> String {
    format!(
        "exists (select 1 from stage_rejects r
                 where r.sale_id = {row}.sale_id and r.source_line > {row}.source_line)"
    )
}

/// The landing columns that classifying a row needs.
const INCOMING_COLUMNS: &str = "sale_id, source_line, sale_date, row_hash, load_id";

/// The general path: replace updated sales, insert new ones, keep keys in step.
fn merge_rows(
    step: &mut Step<'_, '_>,
    landing: &Landing,
    new_months: &[NaiveDate],
    counts: &Counts,
    keys_empty: bool,
) -> Result<(), LoadError> {
    if counts.updated > 0 {
        step.run(
            "removing the old versions of updated sales",
            "delete from raw.sales s using incoming i
             where i.old_row_hash <> i.row_hash
               and s.sale_id = i.sale_id and s.sale_date = i.old_sale_date",
            &[],
        )?;
        step.run(
            "updating sale keys",
            "update raw.sale_keys k
             set sale_date = i.sale_date, row_hash = i.row_hash, load_id = i.load_id,
                 origin_load_id = null, origin_line = null
             from incoming i
             where k.sale_id = i.sale_id and i.old_row_hash <> i.row_hash",
            &[],
        )?;
    }
    if counts.unchanged > 0 {
        // The file's word on these sales is the stored one: it is now the newest word, which
        // a replay of an older load must not replace (see `replay`).
        step.run(
            "recording the newest word on unchanged sales",
            "update raw.sale_keys k
             set origin_load_id = i.load_id, origin_line = i.source_line
             from incoming i
             where k.sale_id = i.sale_id and i.old_row_hash = i.row_hash",
            &[],
        )?;
    }
    // The landing table keeps the rows that go in, and loses the others, usually few: the
    // earlier lines of a sale that the file repeats, and the lines of a sale whose last word
    // in the file is a reject. Each is found by joining the few rows that say so.
    // (A file whose ids came strictly increasing has no duplicate of either kind.)
    if counts.duplicate > 0 {
        step.run(
            "removing the earlier lines of repeated sales",
            &format!(
                "delete from {} l using incoming i
                 where i.repeated and l.sale_id = i.sale_id and l.source_line <> i.source_line",
                landing.name
            ),
            &[],
        )?;
        if counts.rejected > 0 {
            step.batch("analyzing the rejects", "analyze stage_rejects")?;
            step.run(
                "removing the lines a later reject overrides",
                &format!(
                    "delete from {} l where {}",
                    landing.name,
                    overridden_by_a_later_reject("l")
                ),
                &[],
            )?;
        }
    }
    // Now one line per sale of `incoming`; an unchanged one stays as stored.
    let unchanged = "exists (select 1 from incoming i
                             where i.source_line = l.source_line and i.old_row_hash = i.row_hash)";
    let in_new_months = format!(
        "date_trunc('month', l.sale_date)::date = any('{}')",
        date_array(new_months)
    );
    if new_months.len() < landing.months.len() {
        // Months raw.sales has take their rows into their indexed partitions.
        let mut conditions = Vec::new();
        if !new_months.is_empty() {
            conditions.push(format!("not {in_new_months}"));
        }
        if counts.unchanged > 0 {
            conditions.push(format!("not {unchanged}"));
        }
        let columns = format!("l.{}", SALES_COLUMNS.replace(", ", ", l."));
        step.run(
            "inserting new and updated sales",
            &format!(
                "insert into raw.sales ({SALES_COLUMNS}) select {columns} from {} l{}",
                landing.name,
                if conditions.is_empty() {
                    String::new()
                } else {
                    format!(" where {}", conditions.join(" and "))
                }
            ),
            &[],
        )?;
    }
    if !new_months.is_empty() {
        // The landing tables of new months become partitions as on the append path, their
        // indexes built in one sorted pass each. They hold no unchanged sale: that one is
        // stored already, in the month of its date, which its content hash covers.
        step.batch(
            "indexing and attaching new partitions",
            &landing.attach_sql(new_months),
        )?;
    }
    insert_keys(
        step,
        KeyRows::Selected(
            "select sale_id, sale_date, row_hash, load_id from incoming where old_row_hash is null"
                .to_string(),
        ),
        keys_empty,
    )
}

/// Where the keys of new sales come from.
enum KeyRows {
    /// The spool the COPY wrote them to, in sale id order.
    Spooled(KeySpool),
    /// A query of the transaction's tables.
    Selected(String),
}

/// Inserts the keys of new sales. An empty key table is truncated first, which gives it a
/// new file in this transaction that wal_level = minimal lets the insert fill without
/// writing WAL (3.2 s instead of 7.2 s for 5M keys), and its primary key is rebuilt
/// afterwards in one sorted pass instead of row by row.
fn insert_keys(step: &mut Step<'_, '_>, rows: KeyRows, keys_empty: bool) -> Result<(), LoadError> {
    if keys_empty {
        step.batch(
            "dropping the empty key index",
            "truncate raw.sale_keys; alter table raw.sale_keys drop constraint sale_keys_pkey",
        )?;
    }
    match rows {
        KeyRows::Spooled(spool) => {
            spool.copy_into_key_table(step.transaction, keys_empty)?;
        }
        KeyRows::Selected(select) => {
            step.run(
                "inserting sale keys",
                &format!("insert into raw.sale_keys ({}) {select}", copy::KEY_COLUMNS),
                &[],
            )?;
        }
    }
    if keys_empty {
        step.batch(
            "building the key index",
            "alter table raw.sale_keys add primary key (sale_id)",
        )?;
    }
    Ok(())
}

/// The names of `raw.sales`' partitions, as `partition_name` spells them.
pub(super) fn existing_partitions(step: &mut Step<'_, '_>) -> Result<BTreeSet<String>, LoadError> {
    Ok(step
        .transaction
        .query(
            "select 'raw.' || c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
             where i.inhparent = 'raw.sales'::regclass",
            &[],
        )
        .map_err(|source| LoadError::database("listing partitions", source))?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

fn keys_empty(step: &mut Step<'_, '_>) -> Result<bool, LoadError> {
    Ok(step
        .query_one(
            "checking the key table",
            "select not exists (select 1 from raw.sale_keys)",
            &[],
        )?
        .get(0))
}

/// The append path: every landed row is a new sale.
fn append_rows(
    step: &mut Step<'_, '_>,
    landing: &Landing,
    new_months: &[NaiveDate],
    keys: KeyRows,
    keys_empty: bool,
) -> Result<(), LoadError> {
    insert_keys(step, keys, keys_empty)?;
    for month in landing.months.iter().filter(|m| !new_months.contains(m)) {
        // A month raw.sales has: its rows go into the indexed partition.
        step.run(
            "inserting into existing partitions",
            &format!(
                "insert into {} ({SALES_COLUMNS}) select {SALES_COLUMNS} from {}",
                partition_name(*month),
                landing.month_table(*month)
            ),
            &[],
        )?;
    }
    if !new_months.is_empty() {
        step.batch(
            "indexing and attaching new partitions",
            &landing.attach_sql(new_months),
        )?;
    }
    Ok(())
}

/// Vacuums and analyzes the tables that the committed load filled from empty.
///
/// Left to autovacuum, a bulk load's new partitions are vacuumed and analyzed one by one,
/// throttled, while the next step (dbt) is already reading them: after a 5M-row load,
/// 40 s of background work on the same 2 cores as the first `dbt build` (58.1 s with
/// this step against 61.4 and 62.7 s without, one run each). Done here, at full speed,
/// the work is smaller (VACUUM and ANALYZE of 5M fresh rows: 4-6 s) and the next reader finds
/// visibility-map bits, hint bits and statistics in place. In a month's partition the
/// columns that plans depend on (product, retailer, date, channel) have a few hundred
/// distinct values at most, so a 3,000-row sample (statistics target 10) describes them:
/// 40 ms per partition instead of 290 ms at the default target.
///
/// The data is committed by then, so a failure here is only logged: autovacuum will do
/// the same work later.
fn vacuum_new_tables(client: &mut Client, tables: &[String]) {
    if tables.is_empty() {
        return;
    }
    let started = Instant::now();
    // Three statements, not one batch: VACUUM cannot run in the implicit transaction of a
    // multi-statement query.
    let vacuum = format!("vacuum (analyze) {}", tables.join(", "));
    let result = [
        "set default_statistics_target = 10",
        &vacuum,
        "reset default_statistics_target",
    ]
    .iter()
    .try_for_each(|sql| client.batch_execute(sql));
    match result {
        Ok(()) => tracing::debug!(
            tables = tables.len(),
            ms = started.elapsed().as_millis() as u64,
            "vacuumed and analyzed the new tables"
        ),
        Err(error) => tracing::warn!(
            error = %super::error::describe_error(&error),
            "could not vacuum and analyze the new tables; autovacuum will"
        ),
    }
}

/// `raw.sales_2024_02` for February 2024.
pub(super) fn partition_name(month: NaiveDate) -> String {
    format!("raw.sales_{:04}_{:02}", month.year(), month.month())
}

pub(super) fn next_month(month: NaiveDate) -> NaiveDate {
    month
        .checked_add_months(chrono::Months::new(1))
        .expect("dates are bounded by the contract")
}

/// A `date[]` literal.
fn date_array(months: &[NaiveDate]) -> String {
    let items: Vec<String> = months.iter().map(ToString::to_string).collect();
    format!("{{{}}}", items.join(","))
}
