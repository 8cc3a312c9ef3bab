//! Quarantined rows judged again (`salesflow replay`): each record's text, as the quarantine
//! kept it, framed and cleaned by the same reader and cleaner as a file's rows, under the
//! header its file had. The database side (which word on a sale is newer, the ledger, the
//! quarantine) is `load::replay`.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::clean::{Cleaner, Reject};
use crate::contract::Contract;
use crate::load::{LoadError, Rejudge, ReplayRequest, RowWriter, Warehouse};
use crate::read::{Header, Item, RecordReader};
use crate::report::Counts;

/// Judges records under one contract, with the header of the load they come from.
pub struct ContractJudge<'c> {
    contract: &'c Contract,
    cleaner: Option<Cleaner<'c>>,
    /// The bound header as a line of the contract's CSV dialect, each field quoted.
    header_line: Vec<u8>,
    /// Reused: the header line followed by one record.
    input: Vec<u8>,
    /// How often each reason occurred among the rows that fail again.
    pub reject_reasons: BTreeMap<String, u64>,
}

impl<'c> ContractJudge<'c> {
    pub fn new(contract: &'c Contract) -> ContractJudge<'c> {
        ContractJudge {
            contract,
            cleaner: None,
            header_line: Vec::new(),
            input: Vec::new(),
            reject_reasons: BTreeMap::new(),
        }
    }
}

impl Rejudge for ContractJudge<'_> {
    fn bind(&mut self, header: &[String]) -> Result<(), String> {
        let binding = self
            .contract
            .bind_header(header.iter().map(String::as_str))
            .map_err(|error| error.to_string())?;
        self.cleaner = Some(Cleaner::new(self.contract, binding));
        self.header_line = header_line(header, self.contract);
        Ok(())
    }

    fn judge(&mut self, line: u64, raw_record: &str, rows: &mut RowWriter) {
        let cleaner = self
            .cleaner
            .as_ref()
            .expect("a header is bound before records are judged");
        self.input.clear();
        self.input.extend_from_slice(&self.header_line);
        self.input.extend_from_slice(raw_record.as_bytes());
        self.input.push(b'\n');
        let mut reader = RecordReader::new(
            &self.input[..],
            self.contract.max_record_lines,
            &self.contract.dialect,
        );
        let framed = matches!(reader.read_header(), Ok(Some(Header::Names { .. })));
        let item = if framed {
            reader.next_item().ok().flatten()
        } else {
            None
        };
        let reject = match &item {
            Some(Item::Record(record)) => match cleaner.clean(record) {
                Ok(sale) => {
                    rows.sale(line, &sale);
                    return;
                }
                Err(reject) => reject,
            },
            Some(Item::Unframed { .. }) => Reject::unbalanced_quote(),
            None => Reject {
                reasons: vec!["field_count".into()],
                message: "the record's text does not frame as a record".into(),
                fields: Box::default(),
            },
        };
        for reason in &reject.reasons {
            *self.reject_reasons.entry(reason.clone()).or_default() += 1;
        }
        rows.reject(line, raw_record.as_bytes(), &reject);
    }
}

/// A header's fields as one line of the contract's dialect: every field quoted, so that any
/// delimiter or quote inside reads back as it was.
fn header_line(header: &[String], contract: &Contract) -> Vec<u8> {
    let dialect = &contract.dialect;
    let mut line = Vec::new();
    for (index, field) in header.iter().enumerate() {
        if index > 0 {
            line.push(dialect.delimiter);
        }
        line.push(dialect.quote);
        for &byte in field.as_bytes() {
            if byte == dialect.quote {
                line.push(dialect.escape.unwrap_or(dialect.quote));
            } else if Some(byte) == dialect.escape {
                line.push(byte);
            }
            line.push(byte);
        }
        line.push(dialect.quote);
    }
    line.push(b'\n');
    line
}

/// The report of one replay.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplayReport {
    /// The replay's own load id (None for a dry run).
    pub load_id: Option<i64>,
    /// The loads whose quarantined rows were judged again.
    pub replays: Vec<i64>,
    pub dry_run: bool,
    /// The SHA-256 of the contract that judged them.
    pub contract_sha256: String,
    pub counts: Counts,
    /// How often each reason occurred among the rows that fail again.
    pub reject_reasons: BTreeMap<String, u64>,
    pub seconds: f64,
}

/// Replays the quarantine of `loads` under `contract` (see `load::replay`).
pub fn replay(
    warehouse: &mut Warehouse,
    contract: &Contract,
    loads: &[i64],
    dry_run: bool,
) -> Result<ReplayReport, LoadError> {
    let started = Instant::now();
    let mut judge = ContractJudge::new(contract);
    let outcome = warehouse.replay(
        &ReplayRequest {
            loads,
            contract,
            dry_run,
        },
        &mut judge,
    )?;
    Ok(ReplayReport {
        load_id: outcome.load_id,
        replays: outcome.loads,
        dry_run,
        contract_sha256: contract.sha256.clone(),
        counts: outcome.counts,
        reject_reasons: judge.reject_reasons,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::HEADER;
    use crate::load::RowKind;

    fn judged(contract: &Contract, header: &[&str], raw: &str) -> (RowKind, String) {
        let header: Vec<String> = header.iter().map(ToString::to_string).collect();
        let mut judge = ContractJudge::new(contract);
        judge.bind(&header).unwrap();
        let mut rows = RowWriter::default();
        judge.judge(7, raw, &mut rows);
        let (kind, row) = rows.row();
        (kind, String::from_utf8(row.to_vec()).unwrap())
    }

    #[test]
    fn a_record_is_judged_under_its_files_header() {
        let contract = Contract::default_sales();
        let (kind, row) = judged(
            &contract,
            &HEADER,
            "1,2,\"Desk, Lamp\",B,C,3,R,Online,,4,100.00,2024-03-01",
        );
        assert!(matches!(kind, RowKind::Sale { .. }), "{row}");
        assert!(row.starts_with("7\t1\t2\tDesk, Lamp\t"), "{row}");
        // Columns in another order: the header says which is which.
        let mut reordered = HEADER;
        reordered.swap(0, 1);
        let (kind, row) = judged(
            &contract,
            &reordered,
            "2,1,Lamp,B,C,3,R,Online,,4,100.00,2024-03-01",
        );
        assert!(matches!(kind, RowKind::Sale { .. }), "{row}");
        assert!(row.starts_with("7\t1\t2\tLamp\t"), "{row}");
    }

    #[test]
    fn a_record_that_fails_again_keeps_its_text_and_gets_new_reasons() {
        let contract = Contract::default_sales();
        let raw = "1,2,Lamp,B,C,3,R,Online,,4,100.00,01.03.2024";
        let (kind, row) = judged(&contract, &HEADER, raw);
        assert_eq!(kind, RowKind::Reject);
        assert!(row.contains(raw), "{row}");
        assert!(row.contains("sale_date:invalid"), "{row}");
        let (kind, _) = judged(&contract, &HEADER, "1,\"2,Lamp");
        assert_eq!(kind, RowKind::Reject);
    }

    #[test]
    fn header_fields_with_quotes_and_delimiters_read_back() {
        let contract = Contract::default_sales();
        let header = ["a,b".to_string(), "say \"x\"".to_string()];
        let line = header_line(&header, &contract);
        let mut reader = RecordReader::new(&line[..], 10, &contract.dialect);
        match reader.read_header().unwrap() {
            Some(Header::Names { names, .. }) => assert_eq!(names, header),
            other => panic!("{other:?}"),
        }
    }
}
