//! Reading a load's quarantined rows back (`salesflow rejects`): what the quality gate asks an
//! operator to look at before accepting a load.

use super::ledger::{LedgerEntry, ledger_entry};
use super::{LoadError, ReviewedLoad, Warehouse};

/// A load's rejects, as `salesflow rejects` shows them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadRejects {
    #[serde(flatten)]
    pub load: ReviewedLoad,
    pub status: String,
    /// The class of a failed load's failure (see `LedgerRow::failure`).
    pub failure: Option<String>,
    /// How many of the load's rows are in quarantine: those its file rejected, less those a
    /// replay (`salesflow replay`) has loaded since.
    pub in_quarantine: u64,
    /// How many quarantined rows carry each reason code, most frequent first.
    pub reasons: Vec<ReasonCount>,
    /// The first quarantined rows, in file order (at most the limit asked for).
    pub rejects: Vec<RejectedRow>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub rows: u64,
}

/// One row of `raw.sales_rejects`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RejectedRow {
    /// The line of the file on which the record starts (the header is line 1).
    pub source_line: i64,
    pub reasons: Vec<String>,
    pub message: String,
    /// The record's text as it was in the file.
    pub raw_record: String,
}

impl Warehouse {
    /// The rejects of one load: reason counts over all of them and the first `limit` rows.
    pub fn load_rejects(&mut self, load_id: i64, limit: i64) -> Result<LoadRejects, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        // One snapshot for the ledger row and its rejects.
        let mut transaction = self.snapshot()?;
        let Some(LedgerEntry {
            status,
            failure,
            load,
        }) = ledger_entry(&mut transaction, load_id)?
        else {
            return Err(LoadError::NoSuchLoad { load_id });
        };
        let in_quarantine = transaction
            .query_one(
                "select count(*) from raw.sales_rejects where load_id = $1",
                &[&load_id],
            )
            .map_err(db("counting the rejects"))?
            .get::<_, i64>(0) as u64;
        let reasons = transaction
            .query(
                "select reason, count(*) as rows from raw.sales_rejects, unnest(reasons) as reason
                 where load_id = $1 group by reason order by count(*) desc, reason",
                &[&load_id],
            )
            .map_err(db("counting the rejects"))?
            .iter()
            .map(|row| ReasonCount {
                reason: row.get("reason"),
                rows: row.get::<_, i64>("rows") as u64,
            })
            .collect();
        let rejects = transaction
            .query(
                "select source_line, reasons, message, raw_record from raw.sales_rejects
                 where load_id = $1 order by source_line limit $2",
                &[&load_id, &limit],
            )
            .map_err(db("reading the rejects"))?
            .iter()
            .map(|row| RejectedRow {
                source_line: row.get("source_line"),
                reasons: row.get("reasons"),
                message: row.get("message"),
                raw_record: row.get("raw_record"),
            })
            .collect();
        transaction.commit().map_err(db("ending the transaction"))?;
        Ok(LoadRejects {
            load,
            status,
            failure,
            in_quarantine,
            reasons,
            rejects,
        })
    }
}
