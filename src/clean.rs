//! Record to typed sale or reject, as the contract says: trim, recognise null tokens,
//! parse numbers and dates (repairing what can be repaired unambiguously, with a flag),
//! and apply the contract's rules.
//!
//! Pure functions: no I/O, no PostgreSQL.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use iso_currency::Currency;
use rust_decimal::{Decimal, RoundingStrategy};
use xxhash_rust::xxh3::xxh3_64;

use crate::contract::{AMOUNT_TYPE, Check, Contract, Dialect, Field, HeaderBinding, Severity};
use crate::read::Record;

/// A repair made to a value; with its field it forms a `dq_flags` code such as
/// `price:currency_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// Surrounding whitespace was removed.
    Trimmed,
    /// A null token such as `None` or `N/A` was read as NULL.
    NullToken,
    /// An optional value is missing and loaded as NULL.
    Missing,
    /// A currency code or symbol was split off the number into `currency`.
    CurrencyCode,
    /// Thousands separators were removed from a number.
    ThousandsSeparator,
    /// A number had more decimals than the column keeps and was rounded.
    Rounded,
    /// A date was in an accepted format other than the canonical one.
    AlternateFormat,
    /// A value was matched case-insensitively and written in its canonical spelling.
    CanonicalCase,
}

impl Repair {
    fn code(self) -> &'static str {
        match self {
            Repair::Trimmed => "trimmed",
            Repair::NullToken => "null_token",
            Repair::Missing => "missing",
            Repair::CurrencyCode => "currency_code",
            Repair::ThousandsSeparator => "thousands_separator",
            Repair::Rounded => "rounded",
            Repair::AlternateFormat => "alternate_format",
            Repair::CanonicalCase => "canonical_case",
        }
    }
}

/// One entry of a loaded row's `dq_flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag<'a> {
    Repair(Field, Repair),
    /// A rule of severity `flag` failed; the code is the rule's id.
    Rule(&'a str),
}

impl fmt::Display for Flag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Repair(field, repair) => write!(f, "{}:{}", field.name(), repair.code()),
            Flag::Rule(id) => f.write_str(id),
        }
    }
}

/// A row that passed: typed values in `raw.sales` order, its flags and content hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Sale<'a> {
    pub sale_id: i64,
    pub product_id: Option<i64>,
    pub product_name: Option<&'a str>,
    pub brand: Option<&'a str>,
    pub category: Option<&'a str>,
    pub retailer_id: Option<i64>,
    pub retailer_name: Option<&'a str>,
    pub channel: &'a str,
    pub location: Option<&'a str>,
    pub quantity: i32,
    /// The line amount, at the contract's scale.
    pub price: Decimal,
    pub currency: Option<Cow<'a, str>>,
    pub sale_date: NaiveDate,
    pub flags: Vec<Flag<'a>>,
    /// Hash of the business columns: equal hashes for one sale_id mean "unchanged".
    pub row_hash: i64,
}

/// A row's fields after per-field cleaning and the contract's rules, in `raw.sales`
/// order: each one is exactly the value a [`Sale`] holds (trimmed, null tokens read as
/// NULL, canonical case, the price at the contract's scale with its currency code split
/// off, the date from any accepted format), or None.
///
/// A [`Reject`] keeps them, so that the warehouse can learn products and retailers even
/// from rows it cannot load. The rule: **a reason blanks only the field it names.**
/// - `<field>:missing`, `<field>:invalid` and `<field>:out_of_range` name their field by
///   prefix: it did not parse, so it is None.
/// - A failed rule of severity `reject` (the reason is the rule's id) names the rule's
///   `field`: that field is None, the others keep their values. Every rule checks one
///   field, so a rule never blanks a field other than its own; rules run on every field
///   that parsed, also when another field did not, so a reject names all its problems
///   and no kept value fails a rule.
/// - Record-level reasons (`field_count`, `unbalanced_quote`, `invalid_utf8`,
///   `invalid_text`) come before there are fields: every field is None.
/// - Repairs and failed rules of severity `flag` blank nothing: a sale keeps those values.
///
/// There are no cross-field reject rules: the one check that looks at two fields (a
/// location is expected for Offline sales) only flags, and a value that is fine on its
/// own is never blanked because of another field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaleFields<'a> {
    pub sale_id: Option<i64>,
    pub product_id: Option<i64>,
    pub product_name: Option<&'a str>,
    pub brand: Option<&'a str>,
    pub category: Option<&'a str>,
    pub retailer_id: Option<i64>,
    pub retailer_name: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub location: Option<&'a str>,
    pub quantity: Option<i32>,
    /// The line amount, at the contract's scale.
    pub price: Option<Decimal>,
    /// The currency code split off the price; None with the price, or when it had none.
    pub currency: Option<Cow<'a, str>>,
    pub sale_date: Option<NaiveDate>,
}

impl SaleFields<'_> {
    /// Blanks one field: its value failed a check.
    fn clear(&mut self, field: Field) {
        match field {
            Field::SaleId => self.sale_id = None,
            Field::ProductId => self.product_id = None,
            Field::ProductName => self.product_name = None,
            Field::Brand => self.brand = None,
            Field::Category => self.category = None,
            Field::RetailerId => self.retailer_id = None,
            Field::RetailerName => self.retailer_name = None,
            Field::Channel => self.channel = None,
            Field::Location => self.location = None,
            Field::Quantity => self.quantity = None,
            Field::Price => {
                self.price = None;
                self.currency = None;
            }
            Field::SaleDate => self.sale_date = None,
        }
    }
}

/// A row that cannot be a sale: machine-readable reason codes, a message for people and
/// the fields that were fine on their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject<'a> {
    pub reasons: Vec<String>,
    pub message: String,
    /// The values of the fields that parsed and passed their own checks; None where a
    /// field was missing or is itself invalid (see [`SaleFields`] for the rule). Boxed:
    /// rejects are rare, and a small error keeps every row's `Result<Sale, Reject>` small.
    pub fields: Box<SaleFields<'a>>,
}

impl Reject<'_> {
    /// A record-level reject: there are no fields to keep.
    fn single(reason: &str, message: String) -> Reject<'static> {
        Reject {
            reasons: vec![reason.to_string()],
            message,
            fields: Box::default(),
        }
    }

    /// The record was not a CSV record: an unbalanced quote swallowed the line.
    pub fn unbalanced_quote() -> Reject<'static> {
        Reject::single(
            "unbalanced_quote",
            "a quote opened on this line is never closed correctly; \
             the line is quarantined and reading resumes on the next line"
                .into(),
        )
    }
}

/// Accumulates the reasons a row is rejected, so a reject names all its problems.
#[derive(Default)]
struct Problems {
    reasons: Vec<String>,
    messages: Vec<String>,
}

impl Problems {
    fn add(&mut self, reason: impl Into<String>, message: String) {
        self.reasons.push(reason.into());
        self.messages.push(message);
    }

    fn field(&mut self, field: Field, problem: &str, message: String) {
        self.add(format!("{}:{problem}", field.name()), message);
    }

    fn into_reject(self, fields: SaleFields<'_>) -> Reject<'_> {
        // The contract makes every NOT NULL column of raw.sales required, so a row that
        // cannot become a sale has always been given a reason.
        debug_assert!(!self.reasons.is_empty(), "a reject without a reason");
        Reject {
            reasons: self.reasons,
            message: self.messages.join("; "),
            fields: Box::new(fields),
        }
    }
}

/// Cleans the records of one file, whose header was bound to the contract.
pub struct Cleaner<'c> {
    contract: &'c Contract,
    binding: HeaderBinding,
    /// The canonical date format is `%Y-%m-%d`: such dates are read without chrono's
    /// general parser (see [`iso_date`]).
    iso_dates: bool,
}

impl<'c> Cleaner<'c> {
    pub fn new(contract: &'c Contract, binding: HeaderBinding) -> Cleaner<'c> {
        let iso_dates = contract.column(Field::SaleDate).date_formats[0] == "%Y-%m-%d";
        Cleaner {
            contract,
            binding,
            iso_dates,
        }
    }

    /// Turns one record into a sale or a reject.
    pub fn clean<'a>(&'a self, record: &Record<'a>) -> Result<Sale<'a>, Reject<'a>> {
        if record.len() != self.binding.width {
            return Err(Reject::single(
                "field_count",
                format!(
                    "expected {} fields as in the header, found {}",
                    self.binding.width,
                    record.len()
                ),
            ));
        }
        // One UTF-8 check for the whole record, the common case. When it fails, each of the
        // contract's fields is checked on its own: the reject names the fields at fault, and
        // bad bytes in a column the contract does not read do not reject the row.
        let (bytes, ends) = record.fields();
        let text = std::str::from_utf8(bytes).ok();
        let mut values: [&'a str; 12] = [""; 12];
        let mut not_utf8 = Vec::new();
        for field in Field::ALL {
            let index = self.binding.position(field);
            let span = (if index == 0 { 0 } else { ends[index - 1] })..ends[index];
            let value = text
                .and_then(|text| text.get(span.clone()))
                .or_else(|| std::str::from_utf8(&bytes[span]).ok());
            let Some(value) = value else {
                not_utf8.push(field.name());
                continue;
            };
            if memchr::memchr(0, value.as_bytes()).is_some() {
                return Err(Reject::single(
                    "invalid_text",
                    format!("{field} contains a NUL byte"),
                ));
            }
            values[field as usize] = value;
        }
        if !not_utf8.is_empty() {
            let verb = if not_utf8.len() == 1 { "is" } else { "are" };
            return Err(Reject::single(
                "invalid_utf8",
                format!("{} {verb} not valid UTF-8", not_utf8.join(", ")),
            ));
        }
        self.clean_values(&values)
    }

    fn clean_values<'a>(&'a self, values: &[&'a str; 12]) -> Result<Sale<'a>, Reject<'a>> {
        let mut flags = Vec::new();
        let mut problems = Problems::default();
        let value = |field: Field| values[field as usize];

        let text = |field: Field, flags: &mut Vec<Flag<'a>>| -> Option<&'a str> {
            let raw = value(field);
            let trimmed = raw.trim();
            if self.contract.is_null_token(trimmed) {
                if !trimmed.is_empty() {
                    flags.push(Flag::Repair(field, Repair::NullToken));
                }
                return None;
            }
            if trimmed.len() != raw.len() {
                flags.push(Flag::Repair(field, Repair::Trimmed));
            }
            Some(trimmed)
        };

        let sale_id_text = text(Field::SaleId, &mut flags);
        let product_id_text = text(Field::ProductId, &mut flags);
        let product_name = text(Field::ProductName, &mut flags);
        let brand = text(Field::Brand, &mut flags);
        let category = text(Field::Category, &mut flags);
        let retailer_id_text = text(Field::RetailerId, &mut flags);
        let retailer_name = text(Field::RetailerName, &mut flags);
        let channel = text(Field::Channel, &mut flags);
        let location = text(Field::Location, &mut flags);
        let quantity_text = text(Field::Quantity, &mut flags);
        let price_text = text(Field::Price, &mut flags);
        let date_text = text(Field::SaleDate, &mut flags);

        let sale_id = self.integer(Field::SaleId, sale_id_text, &mut problems, &mut flags);
        let product_id = self.integer(Field::ProductId, product_id_text, &mut problems, &mut flags);
        let retailer_id = self.integer(
            Field::RetailerId,
            retailer_id_text,
            &mut problems,
            &mut flags,
        );
        let quantity = self
            .integer(Field::Quantity, quantity_text, &mut problems, &mut flags)
            .and_then(|quantity| match i32::try_from(quantity) {
                Ok(quantity) => Some(quantity),
                Err(_) => {
                    problems.field(
                        Field::Quantity,
                        "out_of_range",
                        format!("quantity {quantity} is out of range"),
                    );
                    None
                }
            });
        let (price, rounded_price, currency) =
            match self.amount(price_text, &mut problems, &mut flags) {
                Some((price, rounded, currency)) => (Some(price), Some(rounded), currency),
                None => (None, None, None),
            };
        let sale_date = self.date(date_text, &mut problems, &mut flags);
        let channel = self.required_text(Field::Channel, channel, &mut problems);
        for (field, present) in [
            (Field::ProductName, product_name.is_some()),
            (Field::Brand, brand.is_some()),
            (Field::Category, category.is_some()),
            (Field::RetailerName, retailer_name.is_some()),
        ] {
            self.note_missing(field, present, &mut problems, &mut flags);
        }

        let mut fields = SaleFields {
            sale_id,
            product_id,
            product_name,
            brand,
            category,
            retailer_id,
            retailer_name,
            channel,
            location,
            quantity,
            price,
            currency,
            sale_date,
        };
        self.apply_rules(&mut fields, &mut flags, &mut problems);
        // Rounded only now: the rules judge the amount as written (-0.004 is negative).
        if let (Some(price), Some(rounded)) = (fields.price, rounded_price) {
            if rounded != price {
                flags.push(Flag::Repair(Field::Price, Repair::Rounded));
            }
            fields.price = Some(rounded);
        }
        let mut sale = match fields {
            // The rules may have normalized values: the sale takes them from `fields`.
            SaleFields {
                sale_id: Some(sale_id),
                product_id,
                product_name,
                brand,
                category,
                retailer_id,
                retailer_name,
                channel: Some(channel),
                location,
                quantity: Some(quantity),
                price: Some(price),
                currency,
                sale_date: Some(sale_date),
            } if problems.reasons.is_empty() => Sale {
                sale_id,
                product_id,
                product_name,
                brand,
                category,
                retailer_id,
                retailer_name,
                channel,
                location,
                quantity,
                price,
                currency,
                sale_date,
                flags,
                row_hash: 0,
            },
            _ => return Err(problems.into_reject(fields)),
        };
        // Location is empty for Online sales by design; elsewhere a gap is worth a flag.
        if sale.location.is_none()
            && sale.channel != "Online"
            && !sale
                .flags
                .contains(&Flag::Repair(Field::Location, Repair::NullToken))
        {
            sale.flags
                .push(Flag::Repair(Field::Location, Repair::Missing));
        }
        sale.row_hash = content_hash(&sale);
        Ok(sale)
    }

    fn note_missing<'a>(
        &self,
        field: Field,
        present: bool,
        problems: &mut Problems,
        flags: &mut Vec<Flag<'a>>,
    ) {
        if present {
            return;
        }
        if self.contract.column(field).required {
            problems.field(field, "missing", format!("{field} is missing"));
        } else if !flags.contains(&Flag::Repair(field, Repair::NullToken)) {
            flags.push(Flag::Repair(field, Repair::Missing));
        }
    }

    fn required_text<'a>(
        &self,
        field: Field,
        value: Option<&'a str>,
        problems: &mut Problems,
    ) -> Option<&'a str> {
        if value.is_none() && self.contract.column(field).required {
            problems.field(field, "missing", format!("{field} is missing"));
        }
        value
    }

    fn integer<'a>(
        &self,
        field: Field,
        text: Option<&str>,
        problems: &mut Problems,
        flags: &mut Vec<Flag<'a>>,
    ) -> Option<i64> {
        let required = self.contract.column(field).required;
        let Some(text) = text else {
            if required {
                problems.field(field, "missing", format!("{field} is missing"));
            } else if !flags.contains(&Flag::Repair(field, Repair::NullToken)) {
                flags.push(Flag::Repair(field, Repair::Missing));
            }
            return None;
        };
        match text.parse::<i64>() {
            Ok(number) => Some(number),
            Err(_) => {
                problems.field(
                    field,
                    "invalid",
                    format!("{field} \"{text}\" is not an integer"),
                );
                None
            }
        }
    }

    fn amount<'a>(
        &self,
        text: Option<&'a str>,
        problems: &mut Problems,
        flags: &mut Vec<Flag<'a>>,
    ) -> Option<(Decimal, Decimal, Option<Cow<'a, str>>)> {
        let field = Field::Price;
        let Some(text) = text else {
            problems.field(field, "missing", "price is missing".into());
            return None;
        };
        let Some(parsed) = parse_amount(text, &self.contract.dialect) else {
            problems.field(
                field,
                "invalid",
                format!("price \"{text}\" is not a number"),
            );
            return None;
        };
        if parsed.currency.is_some() {
            flags.push(Flag::Repair(field, Repair::CurrencyCode));
        }
        if parsed.thousands_separator {
            flags.push(Flag::Repair(field, Repair::ThousandsSeparator));
        }
        // At the contract's scale, rounded half away from zero, and within what the
        // warehouse's amount type holds.
        let scale = self.contract.column(field).scale;
        let mut rounded = parsed
            .number
            .round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(scale);
        if !AMOUNT_TYPE.holds(rounded) {
            problems.field(
                field,
                "out_of_range",
                format!("price \"{text}\" is too large for {AMOUNT_TYPE}"),
            );
            return None;
        }
        // The amount as written, and rounded: the caller rounds after the rules.
        Some((parsed.number, rounded, parsed.currency))
    }

    fn date<'a>(
        &self,
        text: Option<&str>,
        problems: &mut Problems,
        flags: &mut Vec<Flag<'a>>,
    ) -> Option<NaiveDate> {
        let field = Field::SaleDate;
        let Some(text) = text else {
            problems.field(field, "missing", "sale date is missing".into());
            return None;
        };
        let column = self.contract.column(field);
        let formats = &column.date_formats;
        if self.iso_dates {
            if let Some(date) = iso_date(text) {
                return Some(date);
            }
        }
        for (index, pattern) in column.date_patterns.iter().enumerate() {
            let mut parsed = chrono::format::Parsed::new();
            if chrono::format::parse(&mut parsed, text, pattern.iter()).is_err() {
                continue;
            }
            if let Ok(date) = parsed.to_naive_date() {
                // chrono also reads `2024-2-3` with `%Y-%m-%d`: only the canonical
                // spelling itself goes unflagged.
                if index > 0 || !spelled_as(text, date, &parsed, pattern) {
                    flags.push(Flag::Repair(field, Repair::AlternateFormat));
                }
                return Some(date);
            }
        }
        problems.field(
            field,
            "invalid",
            format!(
                "sale date \"{text}\" matches none of the accepted formats ({})",
                formats.join(", ")
            ),
        );
        None
    }

    /// Runs the contract's rules on the fields that have a value. A `one_of` match writes
    /// the canonical spelling; a field that fails a `reject` rule is blanked once every
    /// rule has run (so a second rule on the same field still reports).
    fn apply_rules<'a>(
        &'a self,
        fields: &mut SaleFields<'a>,
        flags: &mut Vec<Flag<'a>>,
        problems: &mut Problems,
    ) {
        // Bit `field as usize`: the field failed a reject rule.
        let mut failed: u16 = 0;
        for rule in &self.contract.rules {
            let failure: Option<String> = match &rule.check {
                Check::IntegerRange { min, max } => {
                    let value = match rule.field {
                        Field::SaleId => fields.sale_id,
                        Field::ProductId => fields.product_id,
                        Field::RetailerId => fields.retailer_id,
                        Field::Quantity => fields.quantity.map(i64::from),
                        _ => unreachable!("contract validation types integer rules"),
                    };
                    value
                        .filter(|v| min.is_some_and(|m| v < &m) || max.is_some_and(|m| v > &m))
                        .map(|v| v.to_string())
                }
                Check::DecimalRange { min, max } => fields
                    .price
                    .filter(|v| min.is_some_and(|m| v < &m) || max.is_some_and(|m| v > &m))
                    .map(|v| v.to_string()),
                Check::DateRange { min, max } => fields
                    .sale_date
                    .filter(|v| min.is_some_and(|m| v < &m) || max.is_some_and(|m| v > &m))
                    .map(|v| v.to_string()),
                Check::OneOf(allowed) => {
                    let slot = match rule.field {
                        Field::Channel => fields.channel.as_mut(),
                        Field::ProductName => fields.product_name.as_mut(),
                        Field::Brand => fields.brand.as_mut(),
                        Field::Category => fields.category.as_mut(),
                        Field::RetailerName => fields.retailer_name.as_mut(),
                        Field::Location => fields.location.as_mut(),
                        _ => unreachable!("contract validation types one_of rules"),
                    };
                    match slot {
                        None => None,
                        Some(value) => match allowed.iter().find(|a| a.eq_ignore_ascii_case(value))
                        {
                            Some(canonical) => {
                                if canonical != value {
                                    *value = canonical.as_str();
                                    flags.push(Flag::Repair(rule.field, Repair::CanonicalCase));
                                }
                                None
                            }
                            None => Some(format!("\"{value}\"")),
                        },
                    }
                }
            };
            if let Some(got) = failure {
                match rule.severity {
                    Severity::Reject => {
                        problems.add(rule.id.clone(), format!("{} (got {got})", rule.message));
                        failed |= 1 << rule.field as usize;
                    }
                    Severity::Flag => flags.push(Flag::Rule(&rule.id)),
                }
            }
        }
        if failed != 0 {
            for field in Field::ALL {
                if failed & (1 << field as usize) != 0 {
                    fields.clear(field);
                }
            }
        }
    }
}

/// A date written exactly `YYYY-MM-DD`, read from its ten bytes: the canonical spelling of
/// the feed's dates, on nearly every row, at a fraction of the cost of chrono's general
/// parser. Anything else (other spellings, impossible dates) is None and goes through the
/// contract's formats.
fn iso_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range].iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}

/// Whether `text` is exactly how `pattern` writes the date (and time) parsed from it.
fn spelled_as(
    text: &str,
    date: NaiveDate,
    parsed: &chrono::format::Parsed,
    pattern: &[chrono::format::Item<'static>],
) -> bool {
    use std::fmt::Write;
    let time = parsed.to_naive_time().ok();
    let mut written = String::with_capacity(text.len());
    let shown = chrono::format::DelayedFormat::new(Some(date), time, pattern.iter());
    write!(written, "{shown}").is_ok() && written == text
}

pub(crate) struct Amount<'a> {
    pub(crate) number: Decimal,
    currency: Option<Cow<'a, str>>,
    thousands_separator: bool,
}

/// Parses a money amount: a plain decimal, optionally with a currency code before or
/// after it ("100USD", "USD 100") or a symbol in front ("$100"), and optionally with
/// thousands separators ("1,500.00"), its separators those of `dialect` ("1.500,00" where the
/// decimal separator is a comma). Anything else is not an amount.
pub(crate) fn parse_amount<'a>(text: &'a str, dialect: &Dialect) -> Option<Amount<'a>> {
    let mut rest = text;
    let mut currency: Option<Cow<'_, str>> = None;
    for (symbol, code) in [("$", "USD"), ("€", "EUR"), ("£", "GBP")] {
        if let Some(stripped) = rest.strip_prefix(symbol) {
            rest = stripped.trim_start();
            currency = Some(Cow::Borrowed(code));
        }
    }
    if currency.is_none() && rest.len() > 3 {
        if let Some(found) = rest.get(..3).and_then(currency_code) {
            currency = Some(found);
            rest = rest[3..].trim_start();
        } else if let Some(found) = rest.get(rest.len() - 3..).and_then(currency_code) {
            currency = Some(found);
            rest = rest[..rest.len() - 3].trim_end();
        }
    }
    let decimal = dialect.decimal_separator;
    let mut thousands_separator = false;
    let mut digits: Cow<'_, str> = Cow::Borrowed(rest);
    if let Some(separator) = dialect.thousands_separator.filter(|&s| rest.contains(s)) {
        if !has_thousands_groups(rest, separator, decimal) {
            return None;
        }
        thousands_separator = true;
        digits = Cow::Owned(rest.replace(separator, ""));
    }
    if decimal != '.' {
        if digits.contains('.') {
            return None; // a point where the feed writes its decimals after a comma
        }
        digits = Cow::Owned(digits.replace(decimal, "."));
    }
    let plain = digits.trim_start_matches(['-', '+']);
    if plain.is_empty()
        || !plain.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || plain.bytes().filter(|&b| b == b'.').count() > 1
    {
        return None;
    }
    let number = Decimal::from_str(&digits).ok()?;
    Some(Amount {
        number,
        currency,
        thousands_separator,
    })
}

/// Three letters next to a number are a currency only when they are an ISO 4217 code, written
/// as one (upper case): "100abc" is not an amount, and neither is "100 all" (an English word,
/// though ALL is the lek).
fn currency_code(text: &str) -> Option<Cow<'_, str>> {
    (text.len() == 3
        && text.bytes().all(|b| b.is_ascii_uppercase())
        && Currency::from_code(text).is_some())
    .then_some(Cow::Borrowed(text))
}

/// "1,500" or "-12,345,678.90" (`thousands` ',' and `decimal` '.'): groups of three before the
/// decimal separator, and no thousands separator after it ("1.500,00" is a decimal comma, not
/// a thousands separator, where the decimal separator is a point).
fn has_thousands_groups(text: &str, thousands: char, decimal: char) -> bool {
    let unsigned = text.trim_start_matches(['-', '+']);
    let (integer, fraction) = unsigned.split_once(decimal).unwrap_or((unsigned, ""));
    if fraction.contains(thousands) {
        return false;
    }
    let mut groups = integer.split(thousands);
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_digit())
        && groups.all(|group| group.len() == 3 && group.bytes().all(|b| b.is_ascii_digit()))
}

/// A stable hash of the business columns (not of lineage or flags): two versions of a
/// sale with equal hashes are the same sale.
fn content_hash(sale: &Sale<'_>) -> i64 {
    // One buffer hashed in one call: much cheaper than many small streaming updates.
    let mut bytes = Vec::with_capacity(192);
    for value in [
        sale.product_name,
        sale.brand,
        sale.category,
        sale.retailer_name,
        Some(sale.channel),
        sale.location,
        sale.currency.as_deref(),
    ] {
        match value {
            Some(value) => {
                bytes.push(1);
                bytes.extend_from_slice(value.as_bytes());
                bytes.push(0x1f);
            }
            None => bytes.push(0),
        }
    }
    for value in [
        Some(sale.sale_id),
        sale.product_id,
        sale.retailer_id,
        Some(sale.quantity.into()),
    ] {
        match value {
            Some(value) => {
                bytes.push(1);
                bytes.extend_from_slice(&value.to_le_bytes());
            }
            None => bytes.push(0),
        }
    }
    bytes.extend_from_slice(&sale.price.serialize());
    bytes.extend_from_slice(&chrono::Datelike::num_days_from_ce(&sale.sale_date).to_le_bytes());
    xxh3_64(&bytes) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Header, Item, RecordReader};

    const HEADER: &str = "SaleID,ProductID,ProductName,Brand,Category,RetailerID,RetailerName,Channel,Location,Quantity,Price,Date";

    /// Cleans the data lines of a CSV text with the given contract, mapping each outcome.
    fn clean_map<T>(
        contract: &Contract,
        lines: &str,
        map: impl Fn(Result<Sale<'_>, Reject>) -> T,
    ) -> Vec<T> {
        clean_file(contract, format!("{HEADER}\n{lines}").as_bytes(), map)
    }

    /// Cleans a whole file (header included), which need not be valid UTF-8.
    fn clean_file<T>(
        contract: &Contract,
        file: &[u8],
        map: impl Fn(Result<Sale<'_>, Reject>) -> T,
    ) -> Vec<T> {
        let mut reader = RecordReader::new(file, 20, &crate::contract::Dialect::default());
        let Some(Header::Names { names: header, .. }) = reader.read_header().unwrap() else {
            panic!("no header");
        };
        let binding = contract
            .bind_header(header.iter().map(String::as_str))
            .unwrap();
        let cleaner = Cleaner::new(contract, binding);
        let mut results = Vec::new();
        while let Some(item) = reader.next_item().unwrap() {
            results.push(map(match item {
                Item::Record(record) => cleaner.clean(&record),
                Item::Unframed { .. } => Err(Reject::unbalanced_quote()),
            }));
        }
        results
    }

    /// A reject's reasons and message (its fields borrow the record: see `rejects_of`).
    #[derive(Debug)]
    struct Rejected {
        reasons: Vec<String>,
        message: String,
    }

    fn clean_with(contract: &Contract, lines: &str) -> Vec<Result<String, Rejected>> {
        clean_map(contract, lines, |outcome| match outcome {
            Ok(sale) => Ok(describe(&sale)),
            Err(reject) => Err(Rejected {
                reasons: reject.reasons,
                message: reject.message,
            }),
        })
    }

    fn clean(lines: &str) -> Vec<Result<String, Rejected>> {
        clean_with(&Contract::default_sales(), lines)
    }

    /// Cleans `lines` and hands every reject to `check` (a reject's fields borrow the
    /// record, so they are checked in place); the first line must be rejected.
    fn rejects_of(lines: &str, check: impl Fn(&Reject<'_>)) {
        let rejected = clean_map(&Contract::default_sales(), lines, |outcome| {
            outcome.map_err(|reject| check(&reject)).is_err()
        });
        assert!(rejected[0], "{lines:?} is not rejected");
    }

    /// The fields a sale holds, as a reject would keep them.
    fn fields_of<'a>(sale: &Sale<'a>) -> SaleFields<'a> {
        SaleFields {
            sale_id: Some(sale.sale_id),
            product_id: sale.product_id,
            product_name: sale.product_name,
            brand: sale.brand,
            category: sale.category,
            retailer_id: sale.retailer_id,
            retailer_name: sale.retailer_name,
            channel: Some(sale.channel),
            location: sale.location,
            quantity: Some(sale.quantity),
            price: Some(sale.price),
            currency: sale.currency.clone(),
            sale_date: Some(sale.sale_date),
        }
    }

    /// Sale 1003 of the reference file, as a sale would hold it with a valid quantity.
    fn sale_1003_fields() -> SaleFields<'static> {
        SaleFields {
            sale_id: Some(1003),
            product_id: Some(7),
            product_name: Some("Office Desk"),
            brand: Some("BrandG"),
            category: Some("Furniture"),
            retailer_id: Some(3),
            retailer_name: Some("GadgetWorld"),
            channel: Some("Offline"),
            location: Some("San Francisco"),
            quantity: Some(2),
            price: Some(Decimal::new(50000, 2)),
            currency: None,
            sale_date: NaiveDate::from_ymd_opt(2024, 3, 5),
        }
    }

    fn describe(sale: &Sale<'_>) -> String {
        let flags: Vec<String> = sale.flags.iter().map(ToString::to_string).collect();
        format!(
            "{} p={:?} {:?} loc={:?} q={} {} {:?} {} [{}]",
            sale.sale_id,
            sale.product_id,
            sale.channel,
            sale.location,
            sale.quantity,
            sale.price,
            sale.currency.as_deref(),
            sale.sale_date,
            flags.join(",")
        )
    }

    fn one(line: &str) -> Result<String, Rejected> {
        clean(line).remove(0)
    }

    fn reasons(line: &str) -> Vec<String> {
        one(line).unwrap_err().reasons
    }

    #[test]
    fn clean_row_has_no_flags() {
        assert_eq!(
            one("1,1,Laptop,BrandA,Electronics,1,TechGear,Online,,3,4500,2024-02-05").unwrap(),
            "1 p=Some(1) \"Online\" loc=None q=3 4500.00 None 2024-02-05 []"
        );
    }

    #[test]
    fn reference_defects_are_repaired_with_flags() {
        assert_eq!(
            one("1001, ,Blender,BrandE,Appliances,2,HomeEssentials,Offline,New York,4,800,2024-02-21")
                .unwrap(),
            "1001 p=None \"Offline\" loc=Some(\"New York\") q=4 800.00 None 2024-02-21 [product_id:missing]"
        );
        assert_eq!(
            one(
                "1002,6,Desk Lamp,BrandF,Electronics,1,TechGear,Online,None,3,\"100USD\",2024-03-01"
            )
            .unwrap(),
            "1002 p=Some(6) \"Online\" loc=None q=3 100.00 Some(\"USD\") 2024-03-01 [location:null_token,price:currency_code]"
        );
        assert_eq!(
            one("1005,8,Coffee Machine,BrandH,Appliances,2,HomeEssentials,Offline,New York,1,200,2024/02/28")
                .unwrap(),
            "1005 p=Some(8) \"Offline\" loc=Some(\"New York\") q=1 200.00 None 2024-02-28 [sale_date:alternate_format]"
        );
    }

    #[test]
    fn negative_quantity_is_rejected_by_rule() {
        let reject = one(
            "1003,7,Office Desk,BrandG,Furniture,3,GadgetWorld,Offline,San Francisco,-1,500,2024-03-05",
        )
        .unwrap_err();
        assert_eq!(reject.reasons, vec!["quantity_positive"]);
        assert_eq!(reject.message, "quantity must be at least 1 (got -1)");
    }

    #[test]
    fn unusable_required_values_are_rejected_with_every_reason() {
        // Rules run on the fields that parsed, also when others did not.
        assert_eq!(
            reasons("x,1,A,B,C,1,R,Online,,0,-5,2024-13-01"),
            vec![
                "sale_id:invalid",
                "sale_date:invalid",
                "quantity_positive",
                "price_non_negative"
            ]
        );
        assert_eq!(
            reasons(",1,A,B,C,1,R,Online,,1,ten,"),
            vec!["sale_id:missing", "price:invalid", "sale_date:missing"]
        );
        assert_eq!(
            reasons("7,1,A,B,C,1,R,Online,,0,-5,2024-01-01"),
            vec!["quantity_positive", "price_non_negative"]
        );
        assert_eq!(
            reasons("7,1,A,B,C,1,R,Mail,,1,5,2024-01-01"),
            vec!["channel_known"]
        );
        assert_eq!(
            reasons("7,1,A,B,C,1,R,,,1,5,2024-01-01"),
            vec!["channel:missing"]
        );
        assert_eq!(
            reasons("7,1,A,B,C,1,R,Online,,99999999999,5,2024-01-01"),
            vec!["quantity:out_of_range"]
        );
        assert_eq!(
            reasons("7,1,A,B,C,1,R,Online,,1,99999999999,2024-01-01"),
            vec!["price:out_of_range"]
        );
        assert_eq!(
            reasons("7,1,A,B,C,1,R,Online,,1,5,1999-12-31"),
            vec!["sale_date_plausible"]
        );
    }

    #[test]
    fn wrong_field_count_and_bad_bytes_are_rejected() {
        assert_eq!(reasons("1,2,3"), vec!["field_count"]);
        assert_eq!(
            reasons("1,1,A\u{0},B,C,1,R,Online,,1,5,2024-01-01"),
            vec!["invalid_text"]
        );
    }

    #[test]
    fn invalid_utf8_names_the_fields_at_fault_and_ignores_unread_columns() {
        let file = [
            format!("{HEADER},Note\n").as_bytes(),
            b"1,1,Caf\xe9 Maker,BrandB,Appliances,1,R,Online,,1,5,2024-01-01,ok\n",
            b"2,1,Caf\xe9,Brand\xff,Appliances,1,R,Online,,1,5,2024-01-01,ok\n",
            b"3,1,Cafe,BrandB,Appliances,1,R,Online,,1,5,2024-01-01,\xe9t\xe9\n",
        ]
        .concat();
        let outcomes = clean_file(&Contract::default_sales(), &file, |outcome| {
            outcome
                .map(|sale| sale.sale_id)
                .map_err(|reject| (reject.reasons, reject.message))
        });
        let rejected = |message: &str| Err((vec!["invalid_utf8".to_string()], message.into()));
        assert_eq!(
            outcomes,
            vec![
                rejected("product_name is not valid UTF-8"),
                rejected("product_name, brand are not valid UTF-8"),
                Ok(3),
            ]
        );
    }

    #[test]
    fn amounts_follow_the_dialects_separators() {
        let european = Dialect {
            decimal_separator: ',',
            thousands_separator: Some('.'),
            ..Dialect::default()
        };
        let amount = |text: &str, dialect: &Dialect| {
            parse_amount(text, dialect).map(|a| (a.number.to_string(), a.thousands_separator))
        };
        assert_eq!(
            amount("1.500,00", &european),
            Some(("1500.00".into(), true))
        );
        assert_eq!(amount("12,5", &european), Some(("12.5".into(), false)));
        assert_eq!(
            amount("-1.234.567,89", &european),
            Some(("-1234567.89".into(), true))
        );
        // A point where the feed writes decimals after a comma is not an amount.
        assert_eq!(amount("12.5", &european), None);
        assert_eq!(amount("1.50,0.0", &european), None);
        // The default dialect still refuses a decimal comma: it would be ambiguous.
        assert_eq!(amount("1.500,00", &Dialect::default()), None);
        let spaced = Dialect {
            decimal_separator: ',',
            thousands_separator: Some(' '),
            ..Dialect::default()
        };
        assert_eq!(amount("1 500,25", &spaced), Some(("1500.25".into(), true)));
        let none = Dialect {
            thousands_separator: None,
            ..Dialect::default()
        };
        assert_eq!(amount("1,500.00", &none), None);
    }

    #[test]
    fn amounts_accept_codes_symbols_and_separators() {
        let amount = |text: &str| {
            parse_amount(text, &Dialect::default()).map(|a| {
                (
                    a.number.to_string(),
                    a.currency.map(|c| c.into_owned()),
                    a.thousands_separator,
                )
            })
        };
        assert_eq!(amount("100"), Some(("100".into(), None, false)));
        assert_eq!(
            amount("100USD"),
            Some(("100".into(), Some("USD".into()), false))
        );
        assert_eq!(
            amount("EUR 12.5"),
            Some(("12.5".into(), Some("EUR".into()), false))
        );
        assert_eq!(
            amount("$1,500.25"),
            Some(("1500.25".into(), Some("USD".into()), true))
        );
        assert_eq!(amount("-3"), Some(("-3".into(), None, false)));
        for bad in [
            "",
            "USD",
            "1,50",
            "1.2.3",
            "12abc4",
            "1e5",
            "--1",
            "ten",
            "1.500,00",
            "12.345,67",
            "2.000,50 EUR",
            "100abc",
            "100 net",
            "ABC 5",
            "100 all",
            "eur 12.5",
        ] {
            assert_eq!(amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn price_is_rounded_to_the_contract_scale_with_a_flag() {
        assert!(
            one("7,1,A,B,C,1,R,Online,,1,10.005,2024-01-01")
                .unwrap()
                .contains("10.01 None 2024-01-01 [price:rounded]")
        );
        assert!(
            one("7,1,A,B,C,1,R,Online,,1,10.500,2024-01-01")
                .unwrap()
                .contains("10.50 None 2024-01-01 []")
        );
    }

    #[test]
    fn rules_judge_the_price_as_written_before_rounding() {
        // Rounded to the scale it would be 0.00, which passes price >= 0: it is negative.
        assert_eq!(
            reasons("7,1,A,B,C,1,R,Online,,1,-0.004,2024-01-01"),
            ["price_non_negative"]
        );
        assert_eq!(
            reasons("7,1,A,B,C,1,R,Online,,1,9999999999.995,2024-01-01"),
            ["price:out_of_range"]
        );
    }

    #[test]
    fn text_is_trimmed_and_channel_case_normalized() {
        assert_eq!(
            one("7 , 1 ,A,B,C,1,R, online ,,1,5,2024-01-01T10:30:00").unwrap(),
            "7 p=Some(1) \"Online\" loc=None q=1 5.00 None 2024-01-01 \
             [sale_id:trimmed,product_id:trimmed,channel:trimmed,sale_date:alternate_format,channel:canonical_case]"
        );
    }

    #[test]
    fn optional_gaps_are_flagged_but_online_location_is_expected_empty() {
        assert_eq!(
            one("7,N/A,,B,C,,R,Offline,,1,5,2024-01-01").unwrap(),
            "7 p=None \"Offline\" loc=None q=1 5.00 None 2024-01-01 \
             [product_id:null_token,retailer_id:missing,product_name:missing,location:missing]"
        );
    }

    #[test]
    fn flag_rules_load_the_row_with_the_rule_id() {
        let text = Contract::default_sales()
            .rules
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>();
        assert!(text.contains(&"quantity_positive".to_string()));
        let contract = Contract::from_toml(&format!(
            "{}\n[[rules]]\nid = \"bulk_order\"\nfield = \"quantity\"\nmax = 100\nseverity = \"flag\"\nmessage = \"unusually large order\"\n",
            crate::contract::DEFAULT_CONTRACT
        ))
        .unwrap();
        let result = clean_with(&contract, "7,1,A,B,C,1,R,Online,,500,5,2024-01-01\n").remove(0);
        assert!(result.unwrap().ends_with("[bulk_order]"));
    }

    #[test]
    fn content_hash_ignores_repairs_but_sees_changes() {
        let hashes = clean_map(
            &Contract::default_sales(),
            "7,1,A,B,C,1,R,Online,,1,5,2024-01-01\n 7,1,A,B,C,1,R,online,,1,5.00,2024/01/01\n7,1,A,B,C,1,R,Online,,1,6,2024-01-01\n",
            |outcome| outcome.unwrap().row_hash,
        );
        assert_eq!(hashes[0], hashes[1]);
        assert_ne!(hashes[0], hashes[2]);
    }

    #[test]
    fn negative_quantity_reject_keeps_product_retailer_and_date() {
        rejects_of(
            "1003,7,Office Desk,BrandG,Furniture,3,GadgetWorld,Offline,San Francisco,-1,500,2024-03-05",
            |reject| {
                assert_eq!(reject.reasons, vec!["quantity_positive"]);
                let expected = SaleFields {
                    quantity: None,
                    ..sale_1003_fields()
                };
                assert_eq!(*reject.fields, expected);
                assert_eq!(reject.fields.price.unwrap().to_string(), "500.00");
            },
        );
    }

    #[test]
    fn dates_not_spelled_canonically_are_flagged() {
        let date_of = |date: &str| one(&format!("7,1,A,B,C,1,R,Online,,1,5,{date}")).unwrap();
        for canonical in ["2024-02-03", "2024-12-31", "2000-01-01"] {
            let sale = date_of(canonical);
            assert!(sale.ends_with(&format!("{canonical} []")), "{sale}");
        }
        for (written, read) in [
            ("2024-2-3", "2024-02-03"),
            ("2024-02-3", "2024-02-03"),
            ("2024-2-03", "2024-02-03"),
            ("2024/2/3", "2024-02-03"),
            ("2024-02-03T00:00:00", "2024-02-03"),
        ] {
            let sale = date_of(written);
            assert!(
                sale.ends_with(&format!("{read} [sale_date:alternate_format]")),
                "{written}: {sale}"
            );
        }
        // The fast path leaves impossible dates to the contract's formats, which reject them.
        for impossible in ["2023-02-29", "2024-00-10", "2024-04-31", "2024-01-32"] {
            assert_eq!(
                reasons(&format!("7,1,A,B,C,1,R,Online,,1,5,{impossible}")),
                ["sale_date:invalid"],
                "{impossible}"
            );
        }
    }

    #[test]
    fn bad_date_reject_keeps_the_other_fields() {
        for (date, reason) in [
            ("2024-13-05", "sale_date:invalid"),
            ("05.03.2024", "sale_date:invalid"),
            ("1999-03-05", "sale_date_plausible"),
        ] {
            let line = format!(
                "1003,7,Office Desk,BrandG,Furniture,3,GadgetWorld,Offline,San Francisco,2,500,{date}"
            );
            rejects_of(&line, |reject| {
                assert_eq!(reject.reasons, vec![reason], "{date}");
                let expected = SaleFields {
                    sale_date: None,
                    ..sale_1003_fields()
                };
                assert_eq!(*reject.fields, expected, "{date}");
            });
        }
    }

    #[test]
    fn reject_fields_are_blanked_only_for_the_fields_the_reasons_name() {
        // Every field named by a reason is None; the rest keep their values.
        rejects_of(
            "x,,Office Desk,,Furniture,3.5,GadgetWorld,Mail,,0,-5,2024-03-05",
            |reject| {
                assert_eq!(
                    reject.reasons,
                    vec![
                        "sale_id:invalid",
                        "retailer_id:invalid",
                        "quantity_positive",
                        "price_non_negative",
                        "channel_known"
                    ]
                );
                let expected = SaleFields {
                    product_name: Some("Office Desk"),
                    category: Some("Furniture"),
                    retailer_name: Some("GadgetWorld"),
                    sale_date: NaiveDate::from_ymd_opt(2024, 3, 5),
                    ..SaleFields::default()
                };
                assert_eq!(*reject.fields, expected);
            },
        );
        rejects_of(
            "1003,7,Office Desk,BrandG,Furniture,3,GadgetWorld,Offline,,99999999999,1e3,",
            |reject| {
                assert_eq!(
                    reject.reasons,
                    vec![
                        "quantity:out_of_range",
                        "price:invalid",
                        "sale_date:missing"
                    ]
                );
                let expected = SaleFields {
                    location: None,
                    quantity: None,
                    price: None,
                    sale_date: None,
                    ..sale_1003_fields()
                };
                assert_eq!(*reject.fields, expected);
            },
        );
    }

    #[test]
    fn reject_fields_are_exactly_what_the_sale_would_hold() {
        // Values that need repairs: trimmed, a null token, a currency code or symbol, an
        // alternate date format, a channel in lower case. Each bad row is rejected for one
        // field; fixed, it becomes a sale whose other fields the reject kept, repairs
        // included.
        let messy = |quantity: &str, price: &str| {
            format!(
                " 1003 ,7, Office Desk ,BrandG,N/A,3,GadgetWorld, offline ,San Francisco,{quantity},{price},2024/03/05\n"
            )
        };
        for (bad, good, field) in [
            (
                messy("-1", "USD 500"),
                messy("2", "USD 500"),
                Field::Quantity,
            ),
            (messy("2", "-500USD"), messy("2", "500USD"), Field::Price),
            (messy("two", "$500"), messy("2", "$500"), Field::Quantity),
        ] {
            let sale = clean_map(&Contract::default_sales(), &good, |outcome| {
                let mut fields = fields_of(&outcome.expect("the fixed row is a sale"));
                fields.clear(field);
                format!("{fields:?}")
            });
            rejects_of(&bad, |reject| {
                assert_eq!(reject.reasons.len(), 1, "{bad}");
                assert_eq!(format!("{:?}", reject.fields), sale[0], "{bad}");
                assert_eq!(reject.fields.channel, Some("Offline"));
                assert_eq!(reject.fields.product_name, Some("Office Desk"));
                assert_eq!(reject.fields.category, None);
                // the currency goes with the price: kept with it, blanked with it
                let currency = (field != Field::Price).then_some("USD");
                assert_eq!(reject.fields.currency.as_deref(), currency, "{bad}");
            });
        }
    }

    #[test]
    fn flag_rules_do_not_blank_the_fields_of_a_reject() {
        let contract = Contract::from_toml(&format!(
            "{}\n[[rules]]\nid = \"bulk_order\"\nfield = \"quantity\"\nmax = 100\nseverity = \"flag\"\nmessage = \"unusually large order\"\n",
            crate::contract::DEFAULT_CONTRACT
        ))
        .unwrap();
        let quantities = clean_map(
            &contract,
            "7,1,A,B,C,1,R,Online,,500,-5,2024-01-01\n",
            |outcome| {
                let reject = outcome.unwrap_err();
                (reject.reasons, reject.fields.quantity, reject.fields.price)
            },
        );
        assert_eq!(
            quantities,
            vec![(vec!["price_non_negative".to_string()], Some(500), None)]
        );
    }

    #[test]
    fn record_level_rejects_have_no_fields() {
        // An unbalanced quote: the line is given up, reading resumes on the next one.
        rejects_of(
            "20,1,\"Laptop,BrandA,Electronics,1,TechGear,Online,,1,1500,2024-05-01\n\
             21,2,Coffee Maker,BrandB,Appliances,2,HomeEssentials,Offline,New York,1,100,2024-05-02\n",
            |reject| {
                assert_eq!(reject.reasons, vec!["unbalanced_quote"]);
                assert_eq!(*reject.fields, SaleFields::default());
            },
        );
        for line in [
            "1003,7,Office Desk,BrandG,Furniture,3,GadgetWorld,Offline,San Francisco,-1,500",
            "1003,7,Office\u{0} Desk,BrandG,Furniture,3,GadgetWorld,Offline,,-1,500,2024-03-05",
        ] {
            rejects_of(line, |reject| {
                assert_eq!(reject.fields, Box::default(), "{:?}", reject.reasons);
            });
        }
    }
}
