//! One file's transaction: COPY into a staging table, quarantine rejects, then merge
//! the valid rows into `raw.sales` and its key table.
//!
//! Two paths, chosen per file from facts, not flags:
//! - **append**: sale ids came strictly increasing (no duplicates in the file) and none
//!   of them is stored yet (one index range probe proves it). Every valid row is new, so
//!   rows go straight from staging to `raw.sales`. Months that have no partition yet are
//!   filled while unindexed, through a private landing table, and then attached, which
//!   builds their indexes in one sorted pass instead of row by row. An empty key table is
//!   filled the same way (primary key dropped, filled, rebuilt).
//! - **merge**: the general case. Rows are de-duplicated (the last occurrence wins, also
//!   when it is a reject: then the sale id's valid rows count as duplicates) and
//!   classified against the key table as new, updated or unchanged; updated sales lose
//!   their old version (wherever its month was) and get the new one.

use std::collections::BTreeSet;
use std::io::BufWriter;
use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use postgres::types::ToSql;
use postgres::{Client, Transaction};

use super::copy::{self, RowWriter};
use super::{LoadError, LoadOutcome, LoadRequest, StageSink, Streamed};
use crate::report::Counts;

const CREATE_STAGE: &str = "create temp table stage (
    source_line bigint not null,
    sale_id bigint, product_id bigint, product_name text, brand text, category text,
    retailer_id bigint, retailer_name text, channel text, location text,
    quantity integer, price numeric(12,2), currency text, sale_date date, dq_flags text[],
    row_hash bigint,
    raw_record text, reasons text[], message text
) on commit drop";

const SALE_COLUMNS: &str = "sale_id, product_id, product_name, brand, category, retailer_id, \
     retailer_name, channel, location, quantity, price, currency, sale_date, dq_flags";

/// The columns of `raw.sales_rejects` that keep a reject's fields (migrations 0002 and
/// 0003): the staging columns of the same names, NULL where a field was missing or invalid.
const REJECT_FIELD_COLUMNS: &str = "sale_id, product_id, product_name, brand, category, \
     retailer_id, retailer_name, channel, location, quantity, price, currency, sale_date";

/// The transaction of one file, with timing of each step in the debug log.
struct Step<'c, 't> {
    transaction: &'t mut Transaction<'c>,
}

impl Step<'_, '_> {
    fn run(
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

    fn batch(&mut self, label: &'static str, sql: &str) -> Result<(), LoadError> {
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

    fn query_one(
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

pub(super) fn merge_file<E>(
    client: &mut Client,
    request: &LoadRequest<'_>,
    load_id: Option<i64>,
    stream: impl FnOnce(&mut StageSink<'_>) -> Result<Streamed, E>,
) -> Result<Result<LoadOutcome, E>, LoadError> {
    let db = |context| move |source| LoadError::database(context, source);
    let mut transaction = client
        .transaction()
        .map_err(db("starting the transaction"))?;
    transaction
        .batch_execute(CREATE_STAGE)
        .map_err(db("creating the staging table"))?;
    let started = Instant::now();
    let writer = transaction
        .copy_in(&format!("copy stage ({}) from stdin", copy::STAGE_COLUMNS))
        .map_err(db("starting COPY"))?;
    let mut sink = RowWriter::new(BufWriter::with_capacity(1 << 18, writer));
    let streamed = match stream(&mut sink) {
        Ok(streamed) => streamed,
        // Dropping the sink aborts the COPY; dropping the transaction rolls back.
        Err(input_error) => return Ok(Err(input_error)),
    };
    let writer = sink
        .into_inner()
        .into_inner()
        .map_err(|error| LoadError::Copy(error.into_error()))?;
    writer.finish().map_err(db("finishing COPY"))?;
    tracing::debug!(
        step = "copy",
        rows = streamed.rows_read,
        ms = started.elapsed().as_millis() as u64,
        "merge step"
    );

    let mut step = Step {
        transaction: &mut transaction,
    };
    // Rows of a dry run carry load id 0, which no real load has; they are rolled back.
    let load_id_value = load_id.unwrap_or(0);
    if streamed.rows_rejected > 0 {
        step.run(
            "quarantining rejected rows",
            &format!(
                "insert into raw.sales_rejects
                   (load_id, source_line, raw_record, reasons, message, {REJECT_FIELD_COLUMNS})
                 select $1, source_line, raw_record, reasons, message, {REJECT_FIELD_COLUMNS}
                 from stage where reasons is not null"
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
        classify(&mut step, &streamed, valid)?
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
    // One timestamp per load, taken under the load lock: increasing in commit order.
    let loaded_at: std::time::SystemTime = step
        .query_one("reading the clock", "select clock_timestamp()", &[])?
        .get(0);
    // What this load fills from empty (both paths create the missing months' partitions):
    // vacuumed and analyzed after the commit.
    let existing = existing_partitions(&mut step)?;
    let keys_were_empty = keys_empty(&mut step)?;
    let mut new_tables: Vec<String> = streamed
        .months
        .iter()
        .map(|month| partition_name(*month))
        .filter(|name| !existing.contains(name))
        .collect();
    if keys_were_empty {
        new_tables.push("raw.sale_keys".to_string());
    }
    if append {
        append_rows(
            &mut step,
            &streamed.months,
            &existing,
            keys_were_empty,
            load_id_value,
            loaded_at,
        )?;
    } else {
        merge_rows(
            &mut step,
            &streamed.months,
            &existing,
            &counts,
            load_id_value,
            loaded_at,
        )?;
    }

    match load_id {
        Some(load_id) => {
            super::Ledger::finish(&mut transaction, load_id, &counts)
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

/// De-duplicates and classifies the valid rows into the temp table `incoming`.
fn classify(step: &mut Step<'_, '_>, streamed: &Streamed, valid: u64) -> Result<Counts, LoadError> {
    let source = if streamed.ids_strictly_increasing {
        "(select * from stage where reasons is null)"
    } else {
        // The last occurrence of a sale id in the file wins. When it is a reject, the
        // file's last word on that sale is unusable: its earlier valid rows are duplicates
        // and the sale is left as stored, as a rejected re-send in a later file would.
        "(select * from (select distinct on (sale_id) * from stage where sale_id is not null
                         order by sale_id, source_line desc) last_occurrence
          where reasons is null)"
    };
    let distinct = step.run(
        "de-duplicating the file's rows",
        &format!(
            "create temp table incoming on commit drop as
             select s.*, k.sale_date as old_sale_date, k.row_hash as old_row_hash
             from {source} s left join raw.sale_keys k using (sale_id)"
        ),
        &[],
    )?;
    let row = step.query_one(
        "classifying rows",
        "select count(*) filter (where old_row_hash is null),
                count(*) filter (where old_row_hash <> row_hash),
                count(*) filter (where old_row_hash = row_hash)
         from incoming",
        &[],
    )?;
    Ok(Counts {
        read: streamed.rows_read,
        loaded: row.get::<_, i64>(0) as u64,
        updated: row.get::<_, i64>(1) as u64,
        unchanged: row.get::<_, i64>(2) as u64,
        duplicate: valid - distinct,
        rejected: streamed.rows_rejected,
    })
}

/// The general path: replace updated sales, insert new ones, keep keys in step.
fn merge_rows(
    step: &mut Step<'_, '_>,
    months: &BTreeSet<NaiveDate>,
    existing: &BTreeSet<String>,
    counts: &Counts,
    load_id: i64,
    loaded_at: std::time::SystemTime,
) -> Result<(), LoadError> {
    for month in months {
        let name = partition_name(*month);
        if existing.contains(&name) {
            continue;
        }
        step.batch(
            "creating a monthly partition",
            &format!(
                "create table {name} partition of raw.sales
                 for values from ('{month}') to ('{}')",
                next_month(*month)
            ),
        )?;
    }
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
             set sale_date = i.sale_date, row_hash = i.row_hash, load_id = $1
             from incoming i
             where k.sale_id = i.sale_id and i.old_row_hash <> i.row_hash",
            &[&load_id],
        )?;
    }
    step.run(
        "inserting new and updated sales",
        &format!(
            "insert into raw.sales ({SALE_COLUMNS}, load_id, source_line, row_hash, loaded_at)
             select {SALE_COLUMNS}, $1, source_line, row_hash, $2 from incoming
             where old_row_hash is distinct from row_hash"
        ),
        &[&load_id, &loaded_at],
    )?;
    step.run(
        "inserting sale keys",
        "insert into raw.sale_keys (sale_id, sale_date, row_hash, load_id)
         select sale_id, sale_date, row_hash, $1 from incoming where old_row_hash is null",
        &[&load_id],
    )?;
    Ok(())
}

/// The names of `raw.sales`' partitions, as `partition_name` spells them.
fn existing_partitions(step: &mut Step<'_, '_>) -> Result<BTreeSet<String>, LoadError> {
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

/// The append path: every valid staged row is a new sale.
fn append_rows(
    step: &mut Step<'_, '_>,
    months: &BTreeSet<NaiveDate>,
    existing: &BTreeSet<String>,
    keys_empty: bool,
    load_id: i64,
    loaded_at: std::time::SystemTime,
) -> Result<(), LoadError> {
    let (old_months, new_months): (Vec<NaiveDate>, Vec<NaiveDate>) = months
        .iter()
        .partition(|month| existing.contains(&partition_name(**month)));
    let select = format!(
        "select {SALE_COLUMNS}, $1::bigint, source_line, row_hash, $2::timestamptz from stage
         where reasons is null"
    );
    let insert_columns = format!("{SALE_COLUMNS}, load_id, source_line, row_hash, loaded_at");

    if !old_months.is_empty() {
        let filter = if new_months.is_empty() {
            String::new()
        } else {
            format!(
                " and date_trunc('month', sale_date)::date = any('{}')",
                date_array(&old_months)
            )
        };
        step.run(
            "inserting into existing partitions",
            &format!("insert into raw.sales ({insert_columns}) {select}{filter}"),
            &[&load_id, &loaded_at],
        )?;
    }
    if !new_months.is_empty() {
        // Fill the new months' tables through an unindexed landing table, then attach
        // them to raw.sales, which builds their indexes in one sorted pass each.
        let landing = format!("raw.sales_landing_{}", load_id.max(0));
        let mut ddl = format!(
            "create table {landing} (like raw.sales including defaults) partition by range (sale_date);"
        );
        for month in &new_months {
            ddl.push_str(&format!(
                "create table {name} (like raw.sales including defaults);
                 alter table {landing} attach partition {name}
                   for values from ('{month}') to ('{next}');",
                name = partition_name(*month),
                next = next_month(*month)
            ));
        }
        step.batch("creating new monthly partitions", &ddl)?;
        let filter = if old_months.is_empty() {
            String::new()
        } else {
            format!(
                " and date_trunc('month', sale_date)::date = any('{}')",
                date_array(&new_months)
            )
        };
        step.run(
            "filling new partitions",
            &format!("insert into {landing} ({insert_columns}) {select}{filter}"),
            &[&load_id, &loaded_at],
        )?;
        let mut attach = String::new();
        for month in &new_months {
            attach.push_str(&format!(
                "alter table {landing} detach partition {name};
                 alter table raw.sales attach partition {name}
                   for values from ('{month}') to ('{next}');",
                name = partition_name(*month),
                next = next_month(*month)
            ));
        }
        attach.push_str(&format!("drop table {landing};"));
        step.batch("indexing and attaching new partitions", &attach)?;
    }

    let insert_keys = "insert into raw.sale_keys (sale_id, sale_date, row_hash, load_id)
         select sale_id, sale_date, row_hash, $1 from stage where reasons is null";
    if keys_empty {
        step.batch(
            "dropping the empty key index",
            "alter table raw.sale_keys drop constraint sale_keys_pkey",
        )?;
        step.run("inserting sale keys", insert_keys, &[&load_id])?;
        step.batch(
            "building the key index",
            "alter table raw.sale_keys add primary key (sale_id)",
        )?;
    } else {
        step.run("inserting sale keys", insert_keys, &[&load_id])?;
    }
    Ok(())
}

/// Vacuums and analyzes the tables that the committed load filled from empty.
///
/// Left to autovacuum, a bulk load's new partitions are vacuumed and analyzed one by one,
/// throttled, while the next step (dbt) is already reading them: after a 5M-row load,
/// 40 s of background work on the same 2 cores as the first `dbt build` (58.1 s with
/// this step against 61.4 and 62.7 s without, one run each). Done here, at full speed,
/// the work is small (VACUUM of 5M fresh rows: 1.8 s) and the next reader finds
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
            error = %super::describe_error(&error),
            "could not vacuum and analyze the new tables; autovacuum will"
        ),
    }
}

/// `raw.sales_2024_02` for February 2024.
fn partition_name(month: NaiveDate) -> String {
    format!("raw.sales_{:04}_{:02}", month.year(), month.month())
}

fn next_month(month: NaiveDate) -> NaiveDate {
    month
        .checked_add_months(chrono::Months::new(1))
        .expect("dates are bounded by the contract")
}

/// A `date[]` literal.
fn date_array(months: &[NaiveDate]) -> String {
    let items: Vec<String> = months.iter().map(ToString::to_string).collect();
    format!("{{{}}}", items.join(","))
}
