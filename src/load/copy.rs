//! Rows for `COPY ... FROM STDIN` in PostgreSQL's text format.
//!
//! Text format, not binary: on this kind of machine binary COPY was measured at 0.95x
//! the time of text for this feed when the format was chosen, a small gain next to the merge
//! and index work, while text rows are cheaper to produce and readable when debugging.
//! Salesflow itself has not re-measured binary; see README, "Performance".

use std::io::Write;

use chrono::{Datelike, NaiveDate};

use crate::clean::{Reject, Sale};

/// The landing table's columns, in COPY order: a valid sale as `raw.sales` keeps it.
/// `load_id` and `loaded_at` are the same for every row of a load, so the landing table
/// fills them by default instead of every row carrying them.
pub const LANDING_COLUMNS: &str = "source_line, sale_id, product_id, product_name, brand, \
     category, retailer_id, retailer_name, channel, location, quantity, price, currency, \
     sale_date, dq_flags, row_hash";

/// The reject stage's columns, in COPY order: the row's line, the fields that were fine
/// (NULL where a field was missing or invalid), its raw text, why it was rejected.
pub const REJECT_COLUMNS: &str = "source_line, sale_id, product_id, product_name, brand, \
     category, retailer_id, retailer_name, channel, location, quantity, price, currency, \
     sale_date, raw_record, reasons, message";

/// What the row just encoded is, so that the loader sends it to the right table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A valid sale, of the month that starts on this day.
    Sale {
        month: NaiveDate,
    },
    Reject,
}

/// Encodes one row at a time, in COPY's text format, into a buffer it reuses.
pub struct RowWriter {
    row: Vec<u8>,
    kind: RowKind,
}

impl Default for RowWriter {
    fn default() -> RowWriter {
        RowWriter {
            row: Vec::with_capacity(512),
            kind: RowKind::Reject,
        }
    }
}

impl RowWriter {
    /// The last row encoded, with its line end, and what it is.
    pub fn row(&self) -> (RowKind, &[u8]) {
        (self.kind, &self.row)
    }

    /// Encodes a valid sale as a landing row (`LANDING_COLUMNS`).
    pub fn sale(&mut self, line: u64, sale: &Sale<'_>) {
        self.kind = RowKind::Sale {
            month: super::month_of(sale.sale_date),
        };
        let row = &mut self.row;
        row.clear();
        integer(row, line as i64);
        integer(row, sale.sale_id);
        optional_integer(row, sale.product_id);
        optional_text(row, sale.product_name);
        optional_text(row, sale.brand);
        optional_text(row, sale.category);
        optional_integer(row, sale.retailer_id);
        optional_text(row, sale.retailer_name);
        text(row, sale.channel.as_bytes());
        optional_text(row, sale.location);
        integer(row, sale.quantity.into());
        let _ = write!(row, "{}\t", sale.price);
        optional_text(row, sale.currency.as_deref());
        date(row, sale.sale_date);
        codes(row, sale.flags.iter().map(ToString::to_string));
        integer(row, sale.row_hash);
        end_row(row);
    }

    /// Encodes a rejected record as a reject-stage row (`REJECT_COLUMNS`).
    pub fn reject(&mut self, line: u64, raw: &[u8], reject: &Reject<'_>) {
        self.kind = RowKind::Reject;
        let row = &mut self.row;
        row.clear();
        integer(row, line as i64);
        let fields = &*reject.fields;
        optional_integer(row, fields.sale_id);
        optional_integer(row, fields.product_id);
        optional_text(row, fields.product_name);
        optional_text(row, fields.brand);
        optional_text(row, fields.category);
        optional_integer(row, fields.retailer_id);
        optional_text(row, fields.retailer_name);
        optional_text(row, fields.channel);
        optional_text(row, fields.location);
        optional_integer(row, fields.quantity.map(i64::from));
        match fields.price {
            Some(price) => {
                let _ = write!(row, "{price}\t");
            }
            None => null(row),
        }
        optional_text(row, fields.currency.as_deref());
        match fields.sale_date {
            Some(sale_date) => date(row, sale_date),
            None => null(row),
        }
        text(
            row,
            String::from_utf8_lossy(raw)
                .replace('\0', "\u{FFFD}")
                .as_bytes(),
        );
        codes(row, reject.reasons.iter().cloned());
        text(row, reject.message.as_bytes());
        end_row(row);
    }
}

/// Every column writer ends with a tab; the last one's becomes the line end.
fn end_row(row: &mut [u8]) {
    *row.last_mut().expect("a row has columns") = b'\n';
}

fn null(row: &mut Vec<u8>) {
    row.extend_from_slice(b"\\N\t");
}

fn integer(row: &mut Vec<u8>, value: i64) {
    row.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    row.push(b'\t');
}

fn optional_integer(row: &mut Vec<u8>, value: Option<i64>) {
    match value {
        Some(value) => integer(row, value),
        None => null(row),
    }
}

fn optional_text(row: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => text(row, value.as_bytes()),
        None => null(row),
    }
}

/// A text value, escaped for COPY's text format, and its tab.
fn text(row: &mut Vec<u8>, value: &[u8]) {
    let special = |b: &u8| matches!(b, b'\\' | b'\n' | b'\r' | b'\t');
    if !value.iter().any(special) {
        row.extend_from_slice(value);
    } else {
        for &b in value {
            match b {
                b'\\' => row.extend_from_slice(b"\\\\"),
                b'\n' => row.extend_from_slice(b"\\n"),
                b'\r' => row.extend_from_slice(b"\\r"),
                b'\t' => row.extend_from_slice(b"\\t"),
                _ => row.push(b),
            }
        }
    }
    row.push(b'\t');
}

fn date(row: &mut Vec<u8>, date: chrono::NaiveDate) {
    let (year, month, day) = (date.year(), date.month(), date.day());
    let _ = write!(row, "{year:04}-{month:02}-{day:02}\t");
}

/// A `text[]` of codes. Codes are lower_snake_case with colons (contract-validated or
/// built in), so they need no quoting inside the array literal.
fn codes(row: &mut Vec<u8>, codes: impl Iterator<Item = String>) {
    row.push(b'{');
    for (index, code) in codes.enumerate() {
        if index > 0 {
            row.push(b',');
        }
        row.extend_from_slice(code.as_bytes());
    }
    row.extend_from_slice(b"}\t");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clean::{Flag, Repair, SaleFields};
    use crate::contract::Field;
    use rust_decimal::Decimal;
    use std::borrow::Cow;

    #[test]
    fn sale_row_is_tab_separated_with_nulls_and_escapes() {
        let sale = Sale {
            sale_id: 1002,
            product_id: None,
            product_name: Some("Desk\tLamp \\ \"big\""),
            brand: Some("BrandF"),
            category: Some("Electronics"),
            retailer_id: Some(1),
            retailer_name: Some("Tech\nGear"),
            channel: "Online",
            location: None,
            quantity: 3,
            price: Decimal::new(10000, 2),
            currency: Some(Cow::Borrowed("USD")),
            sale_date: chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            flags: vec![
                Flag::Repair(Field::ProductId, Repair::Missing),
                Flag::Repair(Field::Price, Repair::CurrencyCode),
            ],
            row_hash: -42,
        };
        let mut writer = RowWriter::default();
        writer.sale(291, &sale);
        let (kind, row) = writer.row();
        assert_eq!(
            kind,
            RowKind::Sale {
                month: chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
            }
        );
        assert_eq!(
            String::from_utf8(row.to_vec()).unwrap(),
            "291\t1002\t\\N\tDesk\\tLamp \\\\ \"big\"\tBrandF\tElectronics\t1\tTech\\nGear\tOnline\t\\N\t3\t100.00\tUSD\t2024-03-01\t{product_id:missing,price:currency_code}\t-42\n"
        );
        assert_eq!(
            String::from_utf8(row.to_vec()).unwrap().split('\t').count(),
            LANDING_COLUMNS.split(", ").count()
        );
    }

    #[test]
    fn reject_row_keeps_raw_text_reasons_and_message() {
        let reject = Reject {
            reasons: vec!["quantity_positive".into(), "price:invalid".into()],
            message: "quantity must be at least 1 (got -1)".into(),
            fields: Box::default(),
        };
        let mut writer = RowWriter::default();
        writer.reject(538, b"1003,7,\xff\tx", &reject);
        let (kind, row) = writer.row();
        assert_eq!(kind, RowKind::Reject);
        let row = String::from_utf8(row.to_vec()).unwrap();
        let columns: Vec<&str> = row.trim_end_matches('\n').split('\t').collect();
        assert_eq!(columns.len(), REJECT_COLUMNS.split(", ").count());
        assert_eq!(columns[0], "538");
        assert!(columns[1..14].iter().all(|c| *c == "\\N"));
        assert_eq!(columns[14], "1003,7,\u{FFFD}\\tx");
        assert_eq!(columns[15], "{quantity_positive,price:invalid}");
        assert_eq!(columns[16], "quantity must be at least 1 (got -1)");
    }

    #[test]
    fn reject_row_carries_the_fields_that_were_fine() {
        let reject = Reject {
            reasons: vec!["quantity_positive".into()],
            message: "quantity must be at least 1 (got -1)".into(),
            fields: Box::new(SaleFields {
                sale_id: Some(1003),
                product_id: Some(7),
                product_name: Some("Office\tDesk"),
                brand: Some("BrandG"),
                category: None,
                retailer_id: Some(3),
                retailer_name: Some("GadgetWorld"),
                channel: Some("Offline"),
                location: Some("San Francisco"),
                quantity: None,
                price: Some(Decimal::new(50000, 2)),
                currency: Some(Cow::Borrowed("USD")),
                sale_date: chrono::NaiveDate::from_ymd_opt(2024, 3, 5),
            }),
        };
        let mut writer = RowWriter::default();
        writer.reject(538, b"1003,7,...", &reject);
        let row = String::from_utf8(writer.row().1.to_vec()).unwrap();
        let columns: Vec<&str> = row.trim_end_matches('\n').split('\t').collect();
        let names: Vec<&str> = REJECT_COLUMNS.split(", ").collect();
        assert_eq!(columns.len(), names.len());
        let column = |name: &str| columns[names.iter().position(|n| *n == name).unwrap()];
        for (name, value) in [
            ("source_line", "538"),
            ("sale_id", "1003"),
            ("product_id", "7"),
            ("product_name", "Office\\tDesk"),
            ("brand", "BrandG"),
            ("category", "\\N"),
            ("retailer_id", "3"),
            ("retailer_name", "GadgetWorld"),
            ("channel", "Offline"),
            ("location", "San Francisco"),
            ("quantity", "\\N"),
            ("price", "500.00"),
            ("currency", "USD"),
            ("sale_date", "2024-03-05"),
            ("raw_record", "1003,7,..."),
            ("reasons", "{quantity_positive}"),
        ] {
            assert_eq!(column(name), value, "{name}");
        }
    }
}
