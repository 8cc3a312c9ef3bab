//! Rows for `COPY ... FROM STDIN`: valid sales in PostgreSQL's binary format or its text
//! format, rejects in text.
//!
//! A file's sales go to the landing table in binary: the server then parses no numbers,
//! dates or arrays, and the COPY step is the server's (bench/README.md measures the
//! difference). Text fields are still converted from the client's encoding (UTF-8) to the
//! database's, as in text COPY. Rejects are few and stay text, readable when debugging;
//! replays send theirs as text too.

use std::io::Write;

use bytes::BytesMut;
use chrono::{Datelike, NaiveDate};
use postgres::types::{ToSql, Type};

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

/// The key table's columns (`raw.sale_keys`) that a new sale fills, in COPY order.
pub const KEY_COLUMNS: &str = "sale_id, sale_date, row_hash, load_id";

/// What the row just encoded is, so that the loader sends it to the right table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A valid sale, of the month that starts on this day.
    Sale {
        month: NaiveDate,
        key: SaleKey,
    },
    Reject,
}

/// What the key table keeps of a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleKey {
    pub sale_id: i64,
    pub sale_date: NaiveDate,
    pub row_hash: i64,
}

impl SaleKey {
    /// Appends the key as a binary COPY tuple of `KEY_COLUMNS`, with the load's id.
    pub fn write_binary(&self, row: &mut Vec<u8>, load_id: i64) {
        row.extend_from_slice(&4i16.to_be_bytes());
        binary_field(row, &self.sale_id.to_be_bytes());
        binary_field(row, &days_since_2000(self.sale_date).to_be_bytes());
        binary_field(row, &self.row_hash.to_be_bytes());
        binary_field(row, &load_id.to_be_bytes());
    }
}

/// How valid sales are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaleFormat {
    #[default]
    Text,
    /// `COPY ... (FORMAT binary)`: a COPY starts with [`BINARY_HEADER`] and ends with
    /// [`BINARY_TRAILER`].
    Binary,
}

/// The start of a binary COPY: its signature, no flags, no header extension.
pub const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The end of a binary COPY: a tuple of -1 fields.
pub const BINARY_TRAILER: &[u8] = &[0xff, 0xff];

/// Encodes one row at a time into a buffer it reuses: sales in its [`SaleFormat`], rejects
/// in COPY's text format.
pub struct RowWriter {
    row: Vec<u8>,
    kind: RowKind,
    format: SaleFormat,
    /// Where numeric and array values are encoded before they join the row.
    scratch: BytesMut,
}

impl Default for RowWriter {
    fn default() -> RowWriter {
        RowWriter::new(SaleFormat::Text)
    }
}

impl RowWriter {
    pub fn new(format: SaleFormat) -> RowWriter {
        RowWriter {
            row: Vec::with_capacity(512),
            kind: RowKind::Reject,
            format,
            scratch: BytesMut::with_capacity(64),
        }
    }

    /// The last row encoded, with its line end (text), and what it is.
    pub fn row(&self) -> (RowKind, &[u8]) {
        (self.kind, &self.row)
    }

    /// Encodes a valid sale as a landing row (`LANDING_COLUMNS`).
    pub fn sale(&mut self, line: u64, sale: &Sale<'_>) {
        self.kind = RowKind::Sale {
            month: super::month_of(sale.sale_date),
            key: SaleKey {
                sale_id: sale.sale_id,
                sale_date: sale.sale_date,
                row_hash: sale.row_hash,
            },
        };
        if self.format == SaleFormat::Binary {
            self.binary_sale(line, sale);
            return;
        }
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

    /// A sale as a binary COPY tuple: the field count, then each field's length (-1 for
    /// NULL) and its bytes, in the types of `raw.sales`.
    fn binary_sale(&mut self, line: u64, sale: &Sale<'_>) {
        let row = &mut self.row;
        row.clear();
        row.extend_from_slice(&(LANDING_COLUMN_COUNT as i16).to_be_bytes());
        binary_field(row, &(line as i64).to_be_bytes());
        binary_field(row, &sale.sale_id.to_be_bytes());
        binary_optional_int8(row, sale.product_id);
        binary_optional(row, sale.product_name.map(str::as_bytes));
        binary_optional(row, sale.brand.map(str::as_bytes));
        binary_optional(row, sale.category.map(str::as_bytes));
        binary_optional_int8(row, sale.retailer_id);
        binary_optional(row, sale.retailer_name.map(str::as_bytes));
        binary_field(row, sale.channel.as_bytes());
        binary_optional(row, sale.location.map(str::as_bytes));
        binary_field(row, &sale.quantity.to_be_bytes());
        binary_value(row, &mut self.scratch, &sale.price, &Type::NUMERIC);
        binary_optional(row, sale.currency.as_deref().map(str::as_bytes));
        binary_field(row, &days_since_2000(sale.sale_date).to_be_bytes());
        let flags: Vec<String> = sale.flags.iter().map(ToString::to_string).collect();
        binary_value(row, &mut self.scratch, &flags, &Type::TEXT_ARRAY);
        binary_field(row, &sale.row_hash.to_be_bytes());
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

/// How many columns `LANDING_COLUMNS` names.
const LANDING_COLUMN_COUNT: usize = 16;

fn binary_field(row: &mut Vec<u8>, value: &[u8]) {
    row.extend_from_slice(&(value.len() as i32).to_be_bytes());
    row.extend_from_slice(value);
}

fn binary_optional_int8(row: &mut Vec<u8>, value: Option<i64>) {
    binary_optional(row, value.map(i64::to_be_bytes).as_ref().map(|b| &b[..]));
}

fn binary_optional(row: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(value) => binary_field(row, value),
        None => row.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

/// A value in PostgreSQL's own binary encoding of `ty`, as the `postgres` crate (and
/// `rust_decimal`, for numerics) write it.
fn binary_value(row: &mut Vec<u8>, scratch: &mut BytesMut, value: &dyn ToSql, ty: &Type) {
    scratch.clear();
    value
        .to_sql_checked(ty, scratch)
        .expect("a decimal and a list of strings always encode as numeric and text[]");
    binary_field(row, scratch);
}

/// A date as binary COPY takes it: days since 2000-01-01.
fn days_since_2000(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");
    (date - epoch).num_days() as i32
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

    /// A sale with NULLs, escapes, a currency and two flags, at `price`.
    fn desk_lamp(price: Decimal) -> Sale<'static> {
        Sale {
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
            price,
            currency: Some(Cow::Borrowed("USD")),
            sale_date: chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            flags: vec![
                Flag::Repair(Field::ProductId, Repair::Missing),
                Flag::Repair(Field::Price, Repair::CurrencyCode),
            ],
            row_hash: -42,
        }
    }

    #[test]
    fn sale_row_is_tab_separated_with_nulls_and_escapes() {
        let sale = desk_lamp(Decimal::new(10000, 2));
        let mut writer = RowWriter::default();
        writer.sale(291, &sale);
        let (kind, row) = writer.row();
        let sale_date = chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        assert_eq!(
            kind,
            RowKind::Sale {
                month: sale_date,
                key: SaleKey {
                    sale_id: 1002,
                    sale_date,
                    row_hash: -42
                }
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

    /// The fields of a binary COPY tuple: None for NULL.
    fn binary_fields(mut row: &[u8]) -> Vec<Option<Vec<u8>>> {
        let count = i16::from_be_bytes([row[0], row[1]]);
        row = &row[2..];
        (0..count)
            .map(|_| {
                let length = i32::from_be_bytes(row[..4].try_into().unwrap());
                row = &row[4..];
                (length >= 0).then(|| {
                    let (value, rest) = row.split_at(length as usize);
                    row = rest;
                    value.to_vec()
                })
            })
            .collect()
    }

    #[test]
    fn a_binary_key_row_has_the_types_of_the_key_table() {
        let key = SaleKey {
            sale_id: 1002,
            sale_date: chrono::NaiveDate::from_ymd_opt(2000, 1, 3).unwrap(),
            row_hash: -42,
        };
        let mut row = Vec::new();
        key.write_binary(&mut row, 7);
        let fields = binary_fields(&row);
        assert_eq!(fields.len(), KEY_COLUMNS.split(", ").count());
        let int8 = |i: usize| i64::from_be_bytes(fields[i].clone().unwrap().try_into().unwrap());
        assert_eq!((int8(0), int8(2), int8(3)), (1002, -42, 7));
        assert_eq!(fields[1].as_deref(), Some(&2i32.to_be_bytes()[..]));
    }

    #[test]
    fn a_binary_sale_row_has_the_types_of_raw_sales() {
        use postgres::types::FromSql;

        let sale = Sale {
            sale_date: chrono::NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
            ..desk_lamp(Decimal::new(-123456, 2))
        };
        let mut writer = RowWriter::new(SaleFormat::Binary);
        writer.sale(291, &sale);
        let (kind, row) = writer.row();
        assert!(matches!(kind, RowKind::Sale { month, .. }
            if month == chrono::NaiveDate::from_ymd_opt(1999, 12, 1).unwrap()));
        let fields = binary_fields(row);
        assert_eq!(fields.len(), LANDING_COLUMNS.split(", ").count());
        let int8 = |i: usize| i64::from_be_bytes(fields[i].clone().unwrap().try_into().unwrap());
        let text = |i: usize| fields[i].clone().map(|v| String::from_utf8(v).unwrap());
        assert_eq!((int8(0), int8(1), int8(6), int8(15)), (291, 1002, 1, -42));
        assert_eq!(fields[2], None);
        assert_eq!(text(3).as_deref(), Some("Desk\tLamp \\ \"big\""));
        assert_eq!(text(7).as_deref(), Some("Tech\nGear"));
        assert_eq!(text(8).as_deref(), Some("Online"));
        assert_eq!(fields[9], None);
        assert_eq!(fields[10].as_deref(), Some(&3i32.to_be_bytes()[..]));
        let price = Decimal::from_sql(&Type::NUMERIC, fields[11].as_deref().unwrap()).unwrap();
        assert_eq!(price.to_string(), "-1234.56");
        assert_eq!(text(12).as_deref(), Some("USD"));
        assert_eq!(fields[13].as_deref(), Some(&(-1i32).to_be_bytes()[..]));
        let flags = Vec::<String>::from_sql(&Type::TEXT_ARRAY, fields[14].as_deref().unwrap());
        assert_eq!(
            flags.unwrap(),
            ["product_id:missing", "price:currency_code"]
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
