//! Onboarding a new feed: from a sample of a file, the dialect it is written in (encoding,
//! delimiter, number and date formats), with the evidence for each choice, rendered as a
//! complete contract for people to review and commit (`salesflow sniff`).
//!
//! Where the sample cannot decide (too few rows, two date orders that both fit), the
//! contract says so and keeps the built-in contract's choice rather than guess.

use chrono::NaiveDate;
use encoding_rs::Encoding;

use crate::clean::parse_amount;
use crate::contract::{Contract, DEFAULT_CONTRACT, Dialect, Field};

/// One choice and why: `value` None when the sample could not decide.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<T> {
    pub value: Option<T>,
    pub evidence: String,
}

/// What a sample of a file says about its dialect.
#[derive(Debug, Clone)]
pub struct Sniffed {
    pub rows_sampled: usize,
    pub encoding: Decision<&'static Encoding>,
    pub delimiter: Decision<u8>,
    /// The header's fields, as decoded and split.
    pub header: Vec<String>,
    /// The contract's columns that no header field names.
    pub unmatched: Vec<Field>,
    pub decimal_separator: Decision<char>,
    pub date_formats: Decision<Vec<String>>,
}

/// Date formats tried on the date column, canonical first.
const DATE_FORMATS: [&str; 9] = [
    "%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%m/%d/%Y", "%m-%d-%Y", "%Y%m%d",
    "%d.%m.%y",
];
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Sniffs `bytes`, the start of a file, looking at up to `rows` data rows.
pub fn sniff(bytes: &[u8], rows: usize) -> Sniffed {
    let encoding = sniff_encoding(bytes);
    let (text, _, _) = encoding.value.unwrap_or(encoding_rs::UTF_8).decode(bytes);
    // A sample may end inside a line: only whole lines count.
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    if !bytes.is_empty() && !text.ends_with('\n') && lines.len() > 1 {
        lines.pop();
    }
    lines.truncate(rows + 1);
    let delimiter = sniff_delimiter(&lines);
    let split = |line: &str| split_record(line, delimiter.value.unwrap_or(b','));
    let header = lines.first().map(|line| split(line)).unwrap_or_default();
    let records: Vec<Vec<String>> = lines.iter().skip(1).map(|line| split(line)).collect();
    let contract = Contract::default_sales();
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let position = |field: Field| contract.header_position(&names, field);
    let unmatched = Field::ALL
        .into_iter()
        .filter(|field| position(*field).is_none())
        .collect();
    let column = |field: Field| -> Vec<&str> {
        position(field).map_or(Vec::new(), |at| {
            records
                .iter()
                .filter_map(|record| record.get(at))
                .map(|value| value.trim())
                .filter(|value| !value.is_empty())
                .collect()
        })
    };
    Sniffed {
        rows_sampled: records.len(),
        encoding,
        delimiter,
        header: header.clone(),
        unmatched,
        decimal_separator: sniff_decimal_separator(&column(Field::Price)),
        date_formats: sniff_date_formats(&column(Field::SaleDate)),
    }
}

fn sniff_encoding(bytes: &[u8]) -> Decision<&'static Encoding> {
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        return Decision {
            value: Some(encoding),
            evidence: format!("the file starts with a {} byte-order mark", encoding.name()),
        };
    }
    let valid_up_to = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        // A sample may cut the last character in two.
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        Err(error) => error.valid_up_to(),
    };
    let non_ascii = bytes.iter().filter(|byte| !byte.is_ascii()).count();
    if valid_up_to + 4 > bytes.len() {
        return Decision {
            value: Some(encoding_rs::UTF_8),
            evidence: if non_ascii == 0 {
                format!("all {} bytes sampled are ASCII, valid UTF-8", bytes.len())
            } else {
                format!("all {non_ascii} non-ASCII bytes sampled form valid UTF-8")
            },
        };
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    let (text, _, _) = guess.decode(bytes);
    let non_ascii: Vec<char> = text.chars().filter(|c| !c.is_ascii()).collect();
    let letters = non_ascii.iter().filter(|c| c.is_alphabetic()).count();
    let mut words: Vec<&str> = Vec::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_ascii())
    {
        if !words.contains(&word) {
            words.push(word);
        }
        if words.len() == 4 {
            break;
        }
    }
    Decision {
        value: Some(guess),
        evidence: format!(
            "not UTF-8 (the byte at offset {valid_up_to} is not); of the legacy encodings the \
             text reads best as {}: {letters} of its {} non-ASCII characters are letters, in \
             words such as {}",
            guess.name(),
            non_ascii.len(),
            words.join(", ")
        ),
    }
}

/// Splits one line at `delimiter`, with double quotes (a sniffing approximation: quoted
/// newlines are not followed across lines).
fn split_record(line: &str, delimiter: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(line.as_bytes());
    reader
        .records()
        .next()
        .and_then(Result::ok)
        .map(|record| record.iter().map(str::to_string).collect())
        .unwrap_or_default()
}

fn sniff_delimiter(lines: &[&str]) -> Decision<u8> {
    let Some(header) = lines.first() else {
        return Decision {
            value: None,
            evidence: "the sample is empty".into(),
        };
    };
    let mut scores: Vec<(u8, usize, usize)> = DELIMITERS
        .iter()
        .map(|&delimiter| {
            let width = split_record(header, delimiter).len();
            let consistent = lines[1..]
                .iter()
                .filter(|line| split_record(line, delimiter).len() == width)
                .count();
            (delimiter, width, consistent)
        })
        .collect();
    // Most columns first, then the most rows with the header's width.
    scores.sort_by_key(|&(_, width, consistent)| std::cmp::Reverse((width > 1, consistent, width)));
    let described: Vec<String> = scores
        .iter()
        .map(|(delimiter, width, consistent)| {
            format!(
                "{:?}: a {width}-field header, {consistent} of {} rows alike",
                char::from(*delimiter).to_string(),
                lines.len() - 1
            )
        })
        .collect();
    let (best, width, _) = scores[0];
    Decision {
        value: (width > 1).then_some(best),
        evidence: described.join("; "),
    }
}

fn sniff_decimal_separator(prices: &[&str]) -> Decision<char> {
    if prices.is_empty() {
        return Decision {
            value: None,
            evidence: "no price values in the sample (or no Price column)".into(),
        };
    }
    let point = Dialect::default();
    let comma = Dialect {
        decimal_separator: ',',
        thousands_separator: Some('.'),
        ..Dialect::default()
    };
    let read = |dialect: &Dialect| -> Vec<Option<String>> {
        prices
            .iter()
            .map(|price| parse_amount(price, dialect).map(|amount| amount.number.to_string()))
            .collect()
    };
    let (as_point, as_comma) = (read(&point), read(&comma));
    let fits = |read: &[Option<String>]| read.iter().filter(|value| value.is_some()).count();
    let (point_fits, comma_fits) = (fits(&as_point), fits(&as_comma));
    let both_differ = as_point
        .iter()
        .zip(&as_comma)
        .filter(|(a, b)| a.is_some() && b.is_some() && a != b)
        .count();
    let evidence = format!(
        "{point_fits} of {} prices read with a decimal point, {comma_fits} with a decimal comma",
        prices.len()
    );
    let value = if point_fits > comma_fits {
        Some('.')
    } else if comma_fits > point_fits {
        Some(',')
    } else if both_differ == 0 {
        Some('.') // whole numbers: either reading gives the same amounts
    } else {
        None
    };
    let evidence = match value {
        None => format!(
            "{evidence}, and {both_differ} of them mean different amounts either way \
             (\"1,500\"): cannot decide"
        ),
        Some(_) => evidence,
    };
    Decision { value, evidence }
}

fn sniff_date_formats(dates: &[&str]) -> Decision<Vec<String>> {
    if dates.is_empty() {
        return Decision {
            value: None,
            evidence: "no date values in the sample (or no Date column)".into(),
        };
    }
    let parsed = |format: &str| -> Vec<Option<NaiveDate>> {
        dates
            .iter()
            .map(|date| NaiveDate::parse_from_str(date, format).ok())
            .collect()
    };
    let results: Vec<(&str, Vec<Option<NaiveDate>>)> =
        DATE_FORMATS.iter().map(|f| (*f, parsed(f))).collect();
    let count = |read: &[Option<NaiveDate>]| read.iter().filter(|d| d.is_some()).count();
    let mut fitting: Vec<(&str, usize)> = results
        .iter()
        .map(|(format, read)| (*format, count(read)))
        .filter(|(_, fits)| *fits > 0)
        .collect();
    fitting.sort_by_key(|&(_, fits)| std::cmp::Reverse(fits));
    let described: Vec<String> = fitting
        .iter()
        .map(|(format, fits)| format!("{format} fits {fits} of {}", dates.len()))
        .collect();
    // Day-first and month-first formats that both read a value, but as different dates.
    let by_format = |format: &str| &results.iter().find(|(f, _)| *f == format).expect("tried").1;
    for (day_first, month_first) in [("%d/%m/%Y", "%m/%d/%Y"), ("%d-%m-%Y", "%m-%d-%Y")] {
        let (days, months) = (by_format(day_first), by_format(month_first));
        let both = days
            .iter()
            .zip(months)
            .filter(|(d, m)| d.is_some() && m.is_some());
        let (either, differ) = both.fold((0, 0), |(n, differ), (d, m)| {
            (n + 1, differ + usize::from(d != m))
        });
        let only_one = count(days) != either || count(months) != either;
        if differ > 0 && !only_one {
            return Decision {
                value: None,
                evidence: format!(
                    "{}; every date fits both {day_first} and {month_first}, and {differ} of \
                     them mean different days: cannot tell the day from the month (a day \
                     over 12 would)",
                    described.join(", ")
                ),
            };
        }
    }
    let mut chosen: Vec<String> = Vec::new();
    let mut covered = vec![false; dates.len()];
    for (format, _) in &fitting {
        let read = by_format(format);
        if read
            .iter()
            .zip(&covered)
            .any(|(date, done)| date.is_some() && !done)
        {
            chosen.push(format.to_string());
            for (done, date) in covered.iter_mut().zip(read) {
                *done |= date.is_some();
            }
        }
    }
    let unread = covered.iter().filter(|done| !**done).count();
    let evidence = if unread > 0 {
        format!(
            "{}; {unread} dates fit none of the formats tried",
            described.join(", ")
        )
    } else {
        described.join(", ")
    };
    Decision {
        value: (!chosen.is_empty()).then_some(chosen),
        evidence,
    }
}

impl Sniffed {
    /// True when the built-in contract reads the file as it is.
    pub fn fits_the_built_in_contract(&self) -> bool {
        let default = Contract::default_sales();
        let default_formats = &default.column(Field::SaleDate).date_formats;
        self.encoding.value == Some(encoding_rs::UTF_8)
            && self.delimiter.value == Some(b',')
            && self.unmatched.is_empty()
            && self.decimal_separator.value == Some('.')
            && self
                .date_formats
                .value
                .as_ref()
                .is_some_and(|formats| formats.iter().all(|f| default_formats.contains(f)))
    }

    /// The built-in contract with what was sniffed, each choice with its evidence as a
    /// comment, and what could not be decided said as such.
    pub fn contract_toml(&self, file_name: &str) -> String {
        let mut format = vec![format!(
            "# Sniffed by `salesflow sniff` from {} rows of {file_name}: review before use.",
            self.rows_sampled
        )];
        let mut say = |key: &str, value: Option<String>, evidence: &str| {
            format.push(format!("# {key}: {evidence}"));
            match value {
                Some(value) => format.push(format!("{key} = {value}")),
                None => format.push(format!(
                    "# {key}: COULD NOT DECIDE: the built-in default stays; set it by hand"
                )),
            }
        };
        say(
            "encoding",
            self.encoding.value.map(|e| format!("{:?}", e.name())),
            &self.encoding.evidence,
        );
        say(
            "delimiter",
            self.delimiter
                .value
                .map(|d| format!("{:?}", char::from(d).to_string())),
            &self.delimiter.evidence,
        );
        say(
            "decimal_separator",
            self.decimal_separator
                .value
                .map(|d| format!("{:?}", d.to_string())),
            &self.decimal_separator.evidence,
        );
        for field in &self.unmatched {
            format.push(format!(
                "# COULD NOT DECIDE: no header field names the contract's column {} (header: \
                 {}); add the feed's name for it to that column's `aliases`",
                field.name(),
                self.header.join(", ")
            ));
        }
        let mut text = DEFAULT_CONTRACT.replacen(
            "[format]\n",
            &format!("[format]\n{}\n", format.join("\n")),
            1,
        );
        let default_formats = r#"formats = ["%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.fZ"]"#;
        let dates = match &self.date_formats.value {
            Some(formats) => format!(
                "# Sniffed: {}\nformats = [{}]",
                self.date_formats.evidence,
                formats
                    .iter()
                    .map(|f| format!("{f:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!(
                "# Sniffed: {}\n# COULD NOT DECIDE the date format: the built-in formats \
                 stay; replace them with the feed's\n{default_formats}",
                self.date_formats.evidence
            ),
        };
        text = text.replacen(default_formats, &dates, 1);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "SaleID;ProductID;ProductName;Brand;Category;RetailerID;\
                          RetailerName;Channel;Location;Quantity;Price;Date";

    fn rows(lines: &[&str]) -> Vec<u8> {
        let text = [HEADER]
            .iter()
            .chain(lines)
            .copied()
            .collect::<Vec<_>>()
            .join("\r\n")
            + "\r\n";
        encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
    }

    #[test]
    fn a_european_excel_export_is_read_from_its_sample() {
        let sample = rows(&[
            "1;1;Laptop;BrandA;Electronics;1;TechGear;Online;;1;1.500,00;01.02.2024",
            "2;2;Café Maker;BrandB;Appliances;2;Home;Offline;München;3;99,90;15.02.2024",
        ]);
        let sniffed = sniff(&sample, 100);
        assert_eq!(sniffed.rows_sampled, 2);
        assert_eq!(sniffed.encoding.value, Some(encoding_rs::WINDOWS_1252));
        assert!(
            sniffed.encoding.evidence.contains("München"),
            "{:?}",
            sniffed.encoding
        );
        assert_eq!(sniffed.delimiter.value, Some(b';'));
        assert_eq!(sniffed.decimal_separator.value, Some(','));
        assert_eq!(
            sniffed.date_formats.value,
            Some(vec!["%d.%m.%Y".to_string()])
        );
        assert!(sniffed.unmatched.is_empty());
        assert!(!sniffed.fits_the_built_in_contract());
        let contract = Contract::from_toml(&sniffed.contract_toml("export.csv")).unwrap();
        assert_eq!(contract.dialect.delimiter, b';');
        assert_eq!(contract.dialect.decimal_separator, ',');
        assert_eq!(contract.column(Field::SaleDate).date_formats, ["%d.%m.%Y"]);
    }

    #[test]
    fn what_the_sample_cannot_decide_is_said_and_not_guessed() {
        // Every day is 12 or less: 03/04/2024 is March or April. 1,500 is 1500 or 1.5.
        let sample = rows(&[
            "1;1;Laptop;BrandA;Electronics;1;TechGear;Online;;1;1,500;03/04/2024",
            "2;1;Laptop;BrandA;Electronics;1;TechGear;Online;;1;2,500;05/06/2024",
        ]);
        let sniffed = sniff(&sample, 100);
        assert_eq!(sniffed.date_formats.value, None);
        assert!(
            sniffed
                .date_formats
                .evidence
                .contains("cannot tell the day from the month")
        );
        assert_eq!(sniffed.decimal_separator.value, None);
        assert!(sniffed.decimal_separator.evidence.contains("cannot decide"));
        let text = sniffed.contract_toml("ambiguous.csv");
        assert!(text.contains("COULD NOT DECIDE the date format"), "{text}");
        assert!(
            text.contains("# decimal_separator: COULD NOT DECIDE"),
            "{text}"
        );
        // Still a valid contract: the built-in choices stand.
        let contract = Contract::from_toml(&text).unwrap();
        assert_eq!(contract.dialect.decimal_separator, '.');
    }

    #[test]
    fn the_reference_feed_fits_the_built_in_contract() {
        let sample = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/generated-sales-data.csv"
        ))
        .unwrap();
        let sniffed = sniff(&sample, 1000);
        assert!(sniffed.fits_the_built_in_contract(), "{sniffed:?}");
        assert_eq!(sniffed.encoding.value, Some(encoding_rs::UTF_8));
    }

    #[test]
    fn a_header_that_names_no_known_column_is_reported() {
        let sniffed = sniff(b"id,article,amount\n1,x,2\n", 10);
        assert!(sniffed.unmatched.contains(&Field::ProductName));
        let text = sniffed.contract_toml("other.csv");
        assert!(
            text.contains("no header field names the contract's column product_name"),
            "{text}"
        );
    }
}
