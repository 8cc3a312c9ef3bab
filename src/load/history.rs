//! A range of loads read back for the data-quality page (`salesflow report`): each load's
//! ledger row, the reasons of its quarantined rows, the repair flags of the rows it wrote,
//! the acceptances and publications that concern it, and the newest quarantined rows.
//!
//! Everything is read in one snapshot. Every query after the ledger's is bounded by the range
//! of load ids shown: the rejects by their `load_id` index, the flags by `raw.sales`' BRIN
//! index on `load_id` (rows are appended in load order, so a range of loads is a range of each
//! partition's pages).

use chrono::NaiveDate;

use super::ledger::utc_text;
use super::review::{LoadAcceptance, acceptance_columns};
use super::{LoadError, ReasonCount, RejectedRow, Warehouse};
use crate::report::Counts;

/// Which loads to read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadRange {
    /// Every load started on or after this day (UTC).
    Since(NaiveDate),
    /// The newest N ledger rows.
    Newest(u32),
}

/// A range of loads and what concerns them, as the data-quality page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadHistory {
    /// The database, "user@host:port/db" (no password).
    pub target: String,
    /// When the snapshot was read, ISO 8601 in UTC.
    pub read_at: String,
    /// The ledger rows of the range, oldest first.
    pub loads: Vec<LoadRecord>,
    /// Every acceptance of a load of the range, revoked ones included, oldest first.
    pub acceptances: Vec<AcceptanceRecord>,
    /// The publications through a load of the range or later, oldest first, after the last
    /// one before the range (which says where the range starts to be unpublished).
    pub publications: Vec<PublicationRecord>,
    /// The highest load id any publication covers (0 before the first publication).
    pub published_through: i64,
    /// The newest quarantined rows of the range: newest load first, in file order.
    pub recent_rejects: Vec<LoadReject>,
}

/// One ledger row, with its rejects' reasons and its rows' flags.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadRecord {
    pub load_id: i64,
    pub source_path: String,
    pub status: String,
    /// The class of a failure (`invalid_file`, `reject_rate_exceeded`, `error`).
    pub failure: Option<String>,
    pub error: Option<String>,
    /// ISO 8601 in UTC.
    pub started_at: String,
    pub seconds: f64,
    /// The ledger's counts: what the load did when it ran.
    pub counts: Counts,
    /// The load's rows still in quarantine: those its file rejected, less those a replay has
    /// loaded since. The quality gate judges a file's load by these.
    pub in_quarantine: u64,
    pub contract_name: Option<String>,
    /// The feed the file came from (`ingest --feed`), when one was named.
    pub feed: Option<String>,
    /// `file` (a file's load) or `replay` (quarantined rows judged again).
    pub kind: String,
    /// The loads whose quarantined rows a replay judged again.
    pub replays: Option<Vec<i64>>,
    /// The reasons of the load's quarantined rows, most frequent first.
    pub reasons: Vec<ReasonCount>,
    /// The repair flags of the rows in `raw.sales` that this load wrote and that no later
    /// load replaced, most frequent first.
    pub flags: Vec<FlagCount>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FlagCount {
    pub flag: String,
    pub rows: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AcceptanceRecord {
    pub load_id: i64,
    #[serde(flatten)]
    pub acceptance: LoadAcceptance,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PublicationRecord {
    pub publication_id: i64,
    pub through_load_id: i64,
    /// ISO 8601 in UTC.
    pub published_at: String,
    pub published_by: String,
}

/// A quarantined row and the load that quarantined it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReject {
    pub load_id: i64,
    #[serde(flatten)]
    pub row: RejectedRow,
}

impl Warehouse {
    /// The loads of `range` and what concerns them, with at most `reject_rows` of their
    /// quarantined rows. Reads one snapshot; writes nothing.
    pub fn load_history(
        &mut self,
        range: LoadRange,
        reject_rows: i64,
    ) -> Result<LoadHistory, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        let target = self.target.clone();
        let mut transaction = self.snapshot()?;
        let (since, newest) = match range {
            LoadRange::Since(day) => (Some(day.to_string()), None),
            LoadRange::Newest(n) => (None, Some(i64::from(n))),
        };
        let rows = transaction
            .query(
                &format!(
                    "select * from (
                         select l.load_id, source_path, status, failure, error,
                                {started_at} as started_at,
                                extract(epoch from coalesce(finished_at, clock_timestamp())
                                    - started_at)::float8 as seconds,
                                rows_read, rows_loaded, rows_updated, rows_unchanged,
                                rows_duplicate, rows_superseded, rows_rejected,
                                c.name as contract_name, feed, kind, replays
                         from salesflow.loads l
                         left join salesflow.contracts c on c.sha256 = l.contract_sha256
                         where $1::text is null
                               or l.started_at >= ($1::text)::date::timestamp at time zone 'UTC'
                         order by l.load_id desc
                         limit $2
                     ) newest order by load_id",
                    started_at = utc_text("started_at"),
                ),
                &[&since, &newest],
            )
            .map_err(db("reading the load ledger"))?;
        let mut loads: Vec<LoadRecord> = rows
            .iter()
            .map(|row| {
                let count = |column| row.get::<_, i64>(column) as u64;
                let counts = Counts {
                    read: count("rows_read"),
                    loaded: count("rows_loaded"),
                    updated: count("rows_updated"),
                    unchanged: count("rows_unchanged"),
                    duplicate: count("rows_duplicate"),
                    superseded: count("rows_superseded"),
                    rejected: count("rows_rejected"),
                };
                LoadRecord {
                    load_id: row.get("load_id"),
                    source_path: row.get("source_path"),
                    status: row.get("status"),
                    failure: row.get("failure"),
                    error: row.get("error"),
                    started_at: row.get("started_at"),
                    seconds: row.get("seconds"),
                    counts,
                    contract_name: row.get("contract_name"),
                    feed: row.get("feed"),
                    kind: row.get("kind"),
                    replays: row.get("replays"),
                    in_quarantine: 0,
                    reasons: Vec::new(),
                    flags: Vec::new(),
                }
            })
            .collect();
        let first = loads.first().map_or(0, |load| load.load_id);
        let last = loads.last().map_or(-1, |load| load.load_id);
        let bounds: [&(dyn postgres::types::ToSql + Sync); 2] = [&first, &last];

        let reasons = transaction
            .query(
                "select load_id, reason, count(*) as rows
                 from raw.sales_rejects, unnest(reasons) as reason
                 where load_id between $1 and $2
                 group by load_id, reason
                 order by load_id, count(*) desc, reason",
                &bounds,
            )
            .map_err(db("counting the rejects"))?;
        let quarantined = transaction
            .query(
                "select load_id, count(*) as rows from raw.sales_rejects
                 where load_id between $1 and $2 group by load_id",
                &bounds,
            )
            .map_err(db("counting the rejects"))?;
        let flags = transaction
            .query(FLAGS_QUERY, &bounds)
            .map_err(db("counting the repair flags"))?;
        for load in &mut loads {
            let of_load = |row: &&postgres::Row| row.get::<_, i64>("load_id") == load.load_id;
            load.in_quarantine = quarantined
                .iter()
                .find(of_load)
                .map_or(0, |row| row.get::<_, i64>("rows") as u64);
            load.reasons = reasons
                .iter()
                .filter(of_load)
                .map(|row| ReasonCount {
                    reason: row.get("reason"),
                    rows: row.get::<_, i64>("rows") as u64,
                })
                .collect();
            load.flags = flags
                .iter()
                .filter(of_load)
                .map(|row| FlagCount {
                    flag: row.get("flag"),
                    rows: row.get::<_, i64>("rows") as u64,
                })
                .collect();
        }

        let acceptances = transaction
            .query(
                &format!(
                    "select a.load_id, {columns} from salesflow.load_acceptances a
                     where a.load_id between $1 and $2
                     order by a.acceptance_id",
                    columns = acceptance_columns(),
                ),
                &bounds,
            )
            .map_err(db("reading the acceptances"))?
            .iter()
            .filter_map(|row| {
                Some(AcceptanceRecord {
                    load_id: row.get("load_id"),
                    acceptance: LoadAcceptance::from_row(row)?,
                })
            })
            .collect();
        let publications = transaction
            .query(
                &format!(
                    "select publication_id, through_load_id, published_by,
                            {published_at} as published_at
                     from salesflow.publications
                     where publication_id >= coalesce(
                         (select max(publication_id) from salesflow.publications
                          where through_load_id < $1), 0)
                     order by publication_id",
                    published_at = utc_text("published_at"),
                ),
                &[&first],
            )
            .map_err(db("reading the publications"))?
            .iter()
            .map(|row| PublicationRecord {
                publication_id: row.get("publication_id"),
                through_load_id: row.get("through_load_id"),
                published_at: row.get("published_at"),
                published_by: row.get("published_by"),
            })
            .collect();
        let published_through: i64 = transaction
            .query_one(
                "select coalesce(max(through_load_id), 0) from salesflow.publications",
                &[],
            )
            .map_err(db("reading the publications"))?
            .get(0);
        let recent_rejects = transaction
            .query(
                "select load_id, source_line, reasons, message, raw_record
                 from raw.sales_rejects
                 where load_id between $1 and $2
                 order by load_id desc, source_line
                 limit $3",
                &[&first, &last, &reject_rows],
            )
            .map_err(db("reading the rejects"))?
            .iter()
            .map(|row| LoadReject {
                load_id: row.get("load_id"),
                row: RejectedRow {
                    source_line: row.get("source_line"),
                    reasons: row.get("reasons"),
                    message: row.get("message"),
                    raw_record: row.get("raw_record"),
                },
            })
            .collect();
        let read_at: String = transaction
            .query_one(&format!("select {}", utc_text("now()")), &[])
            .map_err(db("reading the time"))?
            .get(0);
        transaction.commit().map_err(db("ending the transaction"))?;
        Ok(LoadHistory {
            target,
            read_at,
            loads,
            acceptances,
            publications,
            published_through,
            recent_rejects,
        })
    }
}

/// The repair flags of the rows a range of loads wrote. The `load_id` range is what keeps it
/// cheap on a large table: each partition's BRIN index on `load_id` (rows are appended in
/// load order) leaves only the block ranges of those loads to read.
pub const FLAGS_QUERY: &str = "select load_id, flag, count(*) as rows
     from raw.sales, unnest(dq_flags) as flag
     where load_id between $1 and $2 and dq_flags <> '{}'
     group by load_id, flag
     order by load_id, count(*) desc, flag";
