//! The data contract of the sales feed: its columns, their header names, null tokens,
//! accepted date formats and the rules that decide a row's fate.
//!
//! The contract is declarative (`contracts/sales.toml`, embedded as the default) and is
//! validated once at start-up, so a mistake in it is a clear error before any data moves.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::Digest;

/// The contract shipped with salesflow.
pub const DEFAULT_CONTRACT: &str = include_str!("../contracts/sales.toml");

/// How the warehouse stores amounts: `raw.sales.price` is `numeric(12,2)` (migration 0001; a
/// test checks the two agree). A contract may not ask for more decimals, and the cleaner
/// rejects an amount that does not fit.
pub const AMOUNT_TYPE: Numeric = Numeric {
    precision: 12,
    scale: 2,
};

/// A PostgreSQL `numeric(precision, scale)` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numeric {
    pub precision: u32,
    pub scale: u32,
}

impl Numeric {
    /// Whether a value, already at this scale, fits: at most `precision - scale` digits
    /// before the point.
    pub fn holds(&self, value: Decimal) -> bool {
        value.abs() < Decimal::from(10i64.pow(self.precision - self.scale))
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "numeric({},{})", self.precision, self.scale)
    }
}

/// A column of `raw.sales` that a feed column fills. The set is fixed by the schema;
/// the contract says where each one comes from and how strict it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    SaleId,
    ProductId,
    ProductName,
    Brand,
    Category,
    RetailerId,
    RetailerName,
    Channel,
    Location,
    Quantity,
    Price,
    SaleDate,
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::SaleId,
        Field::ProductId,
        Field::ProductName,
        Field::Brand,
        Field::Category,
        Field::RetailerId,
        Field::RetailerName,
        Field::Channel,
        Field::Location,
        Field::Quantity,
        Field::Price,
        Field::SaleDate,
    ];

    /// The column name in `raw.sales`, also used as the prefix of flag and reason codes.
    pub fn name(self) -> &'static str {
        match self {
            Field::SaleId => "sale_id",
            Field::ProductId => "product_id",
            Field::ProductName => "product_name",
            Field::Brand => "brand",
            Field::Category => "category",
            Field::RetailerId => "retailer_id",
            Field::RetailerName => "retailer_name",
            Field::Channel => "channel",
            Field::Location => "location",
            Field::Quantity => "quantity",
            Field::Price => "price",
            Field::SaleDate => "sale_date",
        }
    }

    /// The value type the schema gives this field.
    pub fn value_type(self) -> ValueType {
        match self {
            Field::SaleId | Field::ProductId | Field::RetailerId | Field::Quantity => {
                ValueType::Integer
            }
            Field::Price => ValueType::Decimal,
            Field::SaleDate => ValueType::Date,
            _ => ValueType::Text,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Integer,
    Decimal,
    Date,
    Text,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::Integer => "integer",
            ValueType::Decimal => "decimal",
            ValueType::Date => "date",
            ValueType::Text => "text",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row is quarantined.
    Reject,
    /// The row is loaded and the rule id is added to its `dq_flags`.
    Flag,
}

/// Why a contract cannot be used. (Like every error of this crate, the message includes its
/// cause, which `source()` therefore does not repeat.)
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("cannot read contract {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("contract is not valid TOML: {0}")]
    Syntax(toml::de::Error),
    #[error("contract is invalid: {0}")]
    Invalid(String),
}

/// Why a file's header does not fit the contract.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("the file has no header row (empty file)")]
    Empty,
    #[error(
        "the header (line {line}) has an unbalanced quote: its columns cannot be known, so no \
         row is read"
    )]
    UnbalancedQuote { line: u64 },
    #[error(
        "header lacks the contract's column(s) {missing} (a file has every column of the \
         contract; `required = false` only lets a column's values be empty); header seen: \
         {seen}{hint}"
    )]
    MissingColumns {
        missing: String,
        seen: String,
        /// What the header looks like, when that says how to read it (another delimiter,
        /// another encoding); empty otherwise.
        hint: String,
    },
    #[error("header names column {field} twice (\"{first}\" and \"{second}\")")]
    Ambiguous {
        field: Field,
        first: String,
        second: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContract {
    name: String,
    #[serde(default)]
    description: String,
    quality_gate: Option<RawQualityGate>,
    format: RawFormat,
    columns: Vec<RawColumn>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQualityGate {
    max_reject_rate: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFormat {
    null_tokens: Vec<String>,
    max_record_lines: usize,
    encoding: Option<String>,
    delimiter: Option<String>,
    quote: Option<String>,
    escape: Option<String>,
    decimal_separator: Option<String>,
    thousands_separator: Option<String>,
}

/// How a feed's files are written: their character encoding and CSV syntax
/// (`[format] encoding`, `delimiter`, `quote`, `escape`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// UTF-8 by default. Other encodings are decoded to UTF-8 as the file is read (a UTF-16
    /// or UTF-8 byte-order mark overrides the declared encoding).
    pub encoding: &'static encoding_rs::Encoding,
    pub delimiter: u8,
    pub quote: u8,
    /// The byte that escapes a quote inside a quoted field; None: the quote is doubled
    /// (`""`), as RFC 4180 has it.
    pub escape: Option<u8>,
    /// How amounts are written: `.` and `,` by default ("1,500.00"); `,` and `.` in much of
    /// Europe ("1.500,00"). No thousands separator: None.
    pub decimal_separator: char,
    pub thousands_separator: Option<char>,
}

impl Default for Dialect {
    fn default() -> Dialect {
        Dialect {
            encoding: encoding_rs::UTF_8,
            delimiter: b',',
            quote: b'"',
            escape: None,
            decimal_separator: '.',
            thousands_separator: Some(','),
        }
    }
}

impl Dialect {
    fn from_raw(format: &RawFormat) -> Result<Dialect, ContractError> {
        let default = Dialect::default();
        let encoding = match &format.encoding {
            None => default.encoding,
            Some(label) => match encoding_rs::Encoding::for_label(label.trim().as_bytes()) {
                Some(encoding) if encoding != encoding_rs::REPLACEMENT => encoding,
                _ => {
                    return Err(invalid(format!(
                        "format.encoding \"{label}\" is not an encoding salesflow knows (UTF-8, \
                         windows-1252, ISO-8859-1, ISO-8859-15, UTF-16LE, UTF-16BE, ... as the \
                         WHATWG Encoding Standard names them)"
                    )));
                }
            },
        };
        let byte = |name: &str, value: &Option<String>, default: u8| match value {
            None => Ok(default),
            Some(text) => match text.as_bytes() {
                [byte] if byte.is_ascii() && !matches!(byte, b'\r' | b'\n') => Ok(*byte),
                _ => Err(invalid(format!(
                    "format.{name} {text:?} must be one ASCII character other than a line break"
                ))),
            },
        };
        let delimiter = byte("delimiter", &format.delimiter, default.delimiter)?;
        let quote = byte("quote", &format.quote, default.quote)?;
        let escape = match &format.escape {
            None => None,
            Some(_) => Some(byte("escape", &format.escape, 0)?),
        };
        if delimiter == quote || Some(delimiter) == escape {
            return Err(invalid(
                "format.delimiter must differ from format.quote and format.escape".into(),
            ));
        }
        let decimal_separator = match format.decimal_separator.as_deref() {
            None => default.decimal_separator,
            Some(".") => '.',
            Some(",") => ',',
            Some(other) => {
                return Err(invalid(format!(
                    "format.decimal_separator {other:?} must be \".\" or \",\""
                )));
            }
        };
        let thousands_separator = match format.thousands_separator.as_deref() {
            // Unset: the other one of `.` and `,`.
            None => Some(if decimal_separator == '.' { ',' } else { '.' }),
            Some("") => None,
            Some(text) => match text.chars().collect::<Vec<_>>()[..] {
                [separator @ (',' | '.' | ' ' | '\'' | '\u{a0}' | '\u{202f}')] => Some(separator),
                _ => {
                    return Err(invalid(format!(
                        "format.thousands_separator {text:?} must be one of \",\" \".\" \" \" \"'\" \
                         (or \"\" for none)"
                    )));
                }
            },
        };
        if thousands_separator == Some(decimal_separator) {
            return Err(invalid(
                "format.thousands_separator must differ from format.decimal_separator".into(),
            ));
        }
        Ok(Dialect {
            encoding,
            delimiter,
            quote,
            escape,
            decimal_separator,
            thousands_separator,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    field: Field,
    header: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(rename = "type")]
    value_type: ValueType,
    required: bool,
    scale: Option<u32>,
    #[serde(default)]
    formats: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    field: Field,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    one_of: Option<Vec<String>>,
    severity: Severity,
    message: String,
}

/// A validated contract.
#[derive(Debug, Clone)]
pub struct Contract {
    pub name: String,
    pub description: String,
    /// The TOML text the contract was read from, and its SHA-256 (hex): the version of the
    /// rules that the ledger records for each load they judge.
    pub text: String,
    pub sha256: String,
    null_tokens: Vec<String>,
    /// Values longer than this cannot be null tokens (a quick test for every value).
    longest_null_token: usize,
    pub max_record_lines: usize,
    /// How the feed's files are written.
    pub dialect: Dialect,
    columns: Vec<Column>,
    pub rules: Vec<Rule>,
    /// The share of a load's rows that may be rejected before the quality gate holds the
    /// load back (`[quality_gate] max_reject_rate`).
    pub max_reject_rate: f64,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub field: Field,
    pub header: String,
    pub aliases: Vec<String>,
    pub required: bool,
    pub scale: u32,
    pub date_formats: Vec<String>,
    /// `date_formats`, parsed once: formats are tried for every row.
    pub date_patterns: Vec<Vec<chrono::format::Item<'static>>>,
}

impl Column {
    /// Whether a header field with this key (`header_key`) names the column, by its header or
    /// an alias.
    fn is_named(&self, key: &str) -> bool {
        header_key(&self.header) == key || self.aliases.iter().any(|alias| header_key(alias) == key)
    }
}

/// A rule on one field's typed value.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub field: Field,
    pub check: Check,
    pub severity: Severity,
    pub message: String,
}

/// What a rule checks. Bounds are inclusive.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    IntegerRange {
        min: Option<i64>,
        max: Option<i64>,
    },
    DecimalRange {
        min: Option<Decimal>,
        max: Option<Decimal>,
    },
    DateRange {
        min: Option<NaiveDate>,
        max: Option<NaiveDate>,
    },
    /// Matched case-insensitively; the value is normalized to the listed spelling.
    OneOf(Vec<String>),
}

impl Contract {
    /// Parses and validates a contract from TOML text.
    pub fn from_toml(text: &str) -> Result<Contract, ContractError> {
        let raw: RawContract = toml::from_str(text).map_err(ContractError::Syntax)?;
        let mut contract = validate(raw)?;
        contract.text = text.to_string();
        contract.sha256 = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        Ok(contract)
    }

    pub fn from_file(path: &Path) -> Result<Contract, ContractError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ContractError::Io {
            path: path.display().to_string(),
            cause,
        })?;
        Contract::from_toml(&text)
    }

    /// The contract shipped with salesflow.
    pub fn default_sales() -> Contract {
        Contract::from_toml(DEFAULT_CONTRACT).expect("the embedded contract is valid")
    }

    pub fn column(&self, field: Field) -> &Column {
        &self.columns[field.index()]
    }

    /// True when `value` (already trimmed) is one of the null tokens.
    pub fn is_null_token(&self, value: &str) -> bool {
        value.len() <= self.longest_null_token
            && self
                .null_tokens
                .iter()
                .any(|token| token.eq_ignore_ascii_case(value))
    }

    /// Maps a file's header row to the contract's fields.
    /// Why a header that lacks columns may be a file in another dialect: NUL bytes between
    /// the letters (UTF-16 read as UTF-8), bytes that are not UTF-8, or another delimiter
    /// with which the header would match.
    fn header_hint(&self, header: &[&str]) -> String {
        let joined = header.join(&char::from(self.dialect.delimiter).to_string());
        if joined.contains('\0') {
            return ". It looks UTF-16 (NUL bytes between the letters): declare \
                    `encoding = \"UTF-16LE\"` (or UTF-16BE) in the contract's [format] \
                    (`salesflow sniff FILE` proposes a whole contract)"
                .into();
        }
        for delimiter in [';', '\t', '|', ','] {
            if delimiter == char::from(self.dialect.delimiter) || !joined.contains(delimiter) {
                continue;
            }
            let split: Vec<&str> = joined.split(delimiter).collect();
            if self.has_every_column(&split) {
                return format!(
                    ". It looks {}-delimited, and matches the contract with \
                     `delimiter = {:?}` in its [format] (`salesflow sniff FILE` proposes a \
                     whole contract)",
                    delimiter.escape_default(),
                    delimiter.to_string()
                );
            }
        }
        if joined.contains('\u{FFFD}') {
            return ". It has bytes that are not UTF-8: declare the file's `encoding` in the \
                    contract's [format] (`windows-1252` for an Excel export); `salesflow \
                    sniff FILE` proposes a whole contract"
                .into();
        }
        ". If the file is another vendor's feed, `salesflow sniff FILE` proposes a contract for \
         it"
        .into()
    }

    /// Where `header` names the contract's column for `field` (by its header or an alias).
    pub(crate) fn header_position(&self, header: &[&str], field: Field) -> Option<usize> {
        let column = self.column(field);
        header
            .iter()
            .position(|name| column.is_named(&header_key(name)))
    }

    /// Whether every column of the contract is named in `header`.
    fn has_every_column(&self, header: &[&str]) -> bool {
        Field::ALL
            .into_iter()
            .all(|field| self.header_position(header, field).is_some())
    }

    pub fn bind_header<'h>(
        &self,
        header: impl IntoIterator<Item = &'h str>,
    ) -> Result<HeaderBinding, HeaderError> {
        let header: Vec<&str> = header.into_iter().collect();
        if header.is_empty() || header.iter().all(|name| name.trim().is_empty()) {
            return Err(HeaderError::Empty);
        }
        let mut positions: [Option<usize>; 12] = [None; 12];
        for (position, name) in header.iter().enumerate() {
            let key = header_key(name);
            let Some(column) = self.columns.iter().find(|column| column.is_named(&key)) else {
                continue;
            };
            let slot = &mut positions[column.field.index()];
            if let Some(first) = *slot {
                return Err(HeaderError::Ambiguous {
                    field: column.field,
                    first: header[first].to_string(),
                    second: name.to_string(),
                });
            }
            *slot = Some(position);
        }
        let missing: Vec<&str> = self
            .columns
            .iter()
            .filter(|column| positions[column.field.index()].is_none())
            .map(|column| column.header.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(HeaderError::MissingColumns {
                missing: missing.join(", "),
                // Control characters (the NULs of UTF-16 read as UTF-8) shown escaped.
                seen: header
                    .join(",")
                    .chars()
                    .map(|c| match c.is_control() {
                        true => c.escape_debug().to_string(),
                        false => c.to_string(),
                    })
                    .collect(),
                hint: self.header_hint(&header),
            });
        }
        Ok(HeaderBinding {
            positions: positions.map(|position| position.expect("checked above")),
            width: header.len(),
        })
    }
}

/// Where each field sits in a file's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderBinding {
    positions: [usize; 12],
    /// The number of fields in the header: every record must have exactly this many.
    pub width: usize,
}

impl HeaderBinding {
    pub fn position(&self, field: Field) -> usize {
        self.positions[field.index()]
    }
}

/// Header names match case-insensitively, ignoring spaces, underscores and a BOM.
fn header_key(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn invalid(message: String) -> ContractError {
    ContractError::Invalid(message)
}

fn validate(raw: RawContract) -> Result<Contract, ContractError> {
    if raw.format.max_record_lines == 0 {
        return Err(invalid("format.max_record_lines must be at least 1".into()));
    }
    let dialect = Dialect::from_raw(&raw.format)?;
    let max_reject_rate = match raw.quality_gate {
        Some(gate) => gate.max_reject_rate,
        // The built-in contract has the section, so this does not recurse further.
        None => Contract::default_sales().max_reject_rate,
    };
    if !(0.0..=1.0).contains(&max_reject_rate) {
        return Err(invalid(format!(
            "quality_gate.max_reject_rate {max_reject_rate} is not a share between 0 and 1"
        )));
    }
    let mut columns: Vec<Option<Column>> = vec![None; 12];
    let mut header_keys = std::collections::HashMap::new();
    for column in raw.columns {
        let field = column.field;
        if column.value_type != field.value_type() {
            return Err(invalid(format!(
                "column {field} has type {}, but raw.sales.{field} is {}",
                column.value_type,
                field.value_type()
            )));
        }
        for name in std::iter::once(&column.header).chain(&column.aliases) {
            let owner = *header_keys.entry(header_key(name)).or_insert(field);
            if owner != field {
                return Err(invalid(format!(
                    "header name or alias \"{name}\" is used by both {owner} and {field}"
                )));
            }
        }
        if !column.formats.is_empty() && field.value_type() != ValueType::Date {
            return Err(invalid(format!(
                "column {field}: `formats` only applies to date columns"
            )));
        }
        if field.value_type() == ValueType::Date && column.formats.is_empty() {
            return Err(invalid(format!(
                "column {field}: a date column needs at least one format"
            )));
        }
        let mut date_patterns = Vec::with_capacity(column.formats.len());
        for format in &column.formats {
            match chrono::format::StrftimeItems::new(format).parse_to_owned() {
                Ok(items) if !items.contains(&chrono::format::Item::Error) => {
                    date_patterns.push(items)
                }
                _ => {
                    return Err(invalid(format!(
                        "column {field}: date format \"{format}\" is not a valid strftime pattern"
                    )));
                }
            }
        }
        if let Some((day_first, month_first)) = mixed_date_orders(&column.formats) {
            return Err(invalid(format!(
                "column {field}: date formats \"{day_first}\" (day first) and \"{month_first}\" \
                 (month first) are ambiguous together: 03.02.2024 would be read both ways. Keep \
                 the one the feed uses"
            )));
        }
        if column.scale.is_some() && field.value_type() != ValueType::Decimal {
            return Err(invalid(format!(
                "column {field}: `scale` only applies to decimal columns"
            )));
        }
        let scale = column.scale.unwrap_or(AMOUNT_TYPE.scale);
        if scale > AMOUNT_TYPE.scale {
            return Err(invalid(format!(
                "column {field}: scale {scale} exceeds raw.sales ({AMOUNT_TYPE})"
            )));
        }
        let slot = &mut columns[field.index()];
        if slot.is_some() {
            return Err(invalid(format!("column {field} is declared twice")));
        }
        *slot = Some(Column {
            field,
            header: column.header,
            aliases: column.aliases,
            required: column.required,
            scale,
            date_formats: column.formats,
            date_patterns,
        });
    }
    let missing: Vec<&str> = Field::ALL
        .iter()
        .filter(|field| columns[field.index()].is_none())
        .map(|field| field.name())
        .collect();
    if !missing.is_empty() {
        return Err(invalid(format!(
            "no column declared for field(s) {}",
            missing.join(", ")
        )));
    }
    let columns: Vec<Column> = columns.into_iter().map(Option::unwrap).collect();
    // The NOT NULL columns of raw.sales. Channel is one too: the warehouse splits every
    // figure by it. Left optional, a row without it would have no reason to be rejected
    // and no way to be loaded.
    for field in [
        Field::SaleId,
        Field::Channel,
        Field::Quantity,
        Field::Price,
        Field::SaleDate,
    ] {
        if !columns[field.index()].required {
            return Err(invalid(format!(
                "column {field} must be required: raw.sales holds no sale without it"
            )));
        }
    }

    let mut rule_ids = HashSet::new();
    let mut rules = Vec::with_capacity(raw.rules.len());
    for rule in raw.rules {
        if !rule_ids.insert(rule.id.clone()) {
            return Err(invalid(format!("rule id {} is used twice", rule.id)));
        }
        if rule.id.is_empty()
            || !rule
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(invalid(format!(
                "rule id \"{}\" must be lower_snake_case",
                rule.id
            )));
        }
        let check = rule_check(&rule)?;
        rules.push(Rule {
            id: rule.id,
            field: rule.field,
            check,
            severity: rule.severity,
            message: rule.message,
        });
    }

    Ok(Contract {
        name: raw.name,
        description: raw.description,
        text: String::new(),
        sha256: String::new(),
        longest_null_token: raw
            .format
            .null_tokens
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0),
        null_tokens: raw.format.null_tokens,
        max_record_lines: raw.format.max_record_lines,
        dialect,
        columns,
        rules,
        max_reject_rate,
    })
}

/// A day-first and a month-first format among `formats` (both with the year after them,
/// such as `%d.%m.%Y` and `%m/%d/%Y`), which would read the same date two ways.
fn mixed_date_orders(formats: &[String]) -> Option<(&str, &str)> {
    let order = |format: &str| {
        let position = |directive| format.find(directive);
        match (
            position("%d"),
            position("%m"),
            position("%Y").or(position("%y")),
        ) {
            (Some(day), Some(month), Some(year)) if day < year && month < year => Some(day < month),
            _ => None,
        }
    };
    let day_first = formats.iter().find(|format| order(format) == Some(true))?;
    let month_first = formats.iter().find(|format| order(format) == Some(false))?;
    Some((day_first, month_first))
}

fn rule_check(rule: &RawRule) -> Result<Check, ContractError> {
    let field = rule.field;
    let context = |what: &str| invalid(format!("rule {}: {what}", rule.id));
    if let Some(values) = &rule.one_of {
        if rule.min.is_some() || rule.max.is_some() {
            return Err(context("use either one_of or min/max, not both"));
        }
        if field.value_type() != ValueType::Text {
            return Err(context(&format!(
                "one_of needs a text field, {field} is not"
            )));
        }
        if values.is_empty() {
            return Err(context("one_of is empty"));
        }
        return Ok(Check::OneOf(values.clone()));
    }
    if rule.min.is_none() && rule.max.is_none() {
        return Err(context("needs min, max or one_of"));
    }
    let bound = |value: &Option<toml::Value>| -> Result<Option<String>, ContractError> {
        Ok(match value {
            None => None,
            Some(toml::Value::Integer(n)) => Some(n.to_string()),
            Some(toml::Value::Float(x)) => Some(x.to_string()),
            Some(toml::Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(context(&format!("bound {other} is not a value"))),
        })
    };
    let (min, max) = (bound(&rule.min)?, bound(&rule.max)?);
    fn parse_bound<T: FromStr>(
        text: Option<String>,
        parse: impl Fn(&str) -> Option<T>,
        error: impl Fn(&str) -> ContractError,
    ) -> Result<Option<T>, ContractError> {
        text.map(|text| parse(&text).ok_or_else(|| error(&text)))
            .transpose()
    }
    let bad = |text: &str| context(&format!("bound {text} does not fit field {field}"));
    Ok(match field.value_type() {
        ValueType::Integer => Check::IntegerRange {
            min: parse_bound(min, |s| s.parse().ok(), bad)?,
            max: parse_bound(max, |s| s.parse().ok(), bad)?,
        },
        ValueType::Decimal => Check::DecimalRange {
            min: parse_bound(min, |s| Decimal::from_str(s).ok(), bad)?,
            max: parse_bound(max, |s| Decimal::from_str(s).ok(), bad)?,
        },
        ValueType::Date => Check::DateRange {
            min: parse_bound(min, |s| NaiveDate::from_str(s).ok(), bad)?,
            max: parse_bound(max, |s| NaiveDate::from_str(s).ok(), bad)?,
        },
        ValueType::Text => return Err(context("min/max need a number or date field")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_contract_is_valid_and_complete() {
        let contract = Contract::default_sales();
        assert_eq!(contract.name, "sales");
        assert_eq!(contract.column(Field::SaleDate).date_formats[0], "%Y-%m-%d");
        assert!(contract.is_null_token("none"));
        assert!(contract.is_null_token(""));
        assert!(!contract.is_null_token("New York"));
        assert_eq!(contract.rules.len(), 4);
        assert_eq!(contract.max_reject_rate, 0.05);
    }

    #[test]
    fn a_header_in_another_dialect_says_what_it_looks_like() {
        let contract = Contract::default_sales();
        let hint = |header: &[&str]| {
            contract
                .bind_header(header.iter().copied())
                .unwrap_err()
                .to_string()
        };
        let names = Field::ALL.map(|field| contract.column(field).header.as_str());
        let semicolons = names.join(";");
        let error = hint(&[&semicolons]);
        assert!(error.contains("looks ;-delimited"), "{error}");
        assert!(error.contains(r#"`delimiter = ";"`"#), "{error}");
        let tabs = names.join("\t");
        assert!(
            hint(&[&tabs]).contains(r#"looks \t-delimited"#),
            "{}",
            hint(&[&tabs])
        );
        let utf16: Vec<String> = names
            .iter()
            .map(|name| name.chars().flat_map(|c| [c, '\0']).collect())
            .collect();
        let utf16: Vec<&str> = utf16.iter().map(String::as_str).collect();
        assert!(hint(&utf16).contains("looks UTF-16"), "{}", hint(&utf16));
        assert!(hint(&["Sale\u{FFFD}ID", "Price"]).contains("not UTF-8"));
        // A header that is simply another feed's gets no guess, only the way to one.
        let other = hint(&["order", "amount"]);
        assert!(!other.contains("looks"), "{other}");
        assert!(other.contains("salesflow sniff FILE"), "{other}");
    }

    #[test]
    fn a_day_first_and_a_month_first_date_format_are_refused_together() {
        let with_formats = |formats: &str| {
            Contract::from_toml(&DEFAULT_CONTRACT.replace(
                r#"formats = ["%Y-%m-%d", "#,
                &format!("formats = [{formats}, "),
            ))
        };
        let error = with_formats(r#""%d.%m.%Y", "%m/%d/%Y""#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("ambiguous"), "{error}");
        assert!(
            error.contains("%d.%m.%Y") && error.contains("%m/%d/%Y"),
            "{error}"
        );
        // Year first is neither: ISO dates go with either order.
        assert!(with_formats(r#""%d.%m.%Y", "%Y-%m-%d""#).is_ok());
        assert!(with_formats(r#""%m/%d/%Y", "%Y/%m/%d""#).is_ok());
    }

    #[test]
    fn separators_of_amounts_are_checked() {
        let with = |settings: &str| {
            Contract::from_toml(&DEFAULT_CONTRACT.replacen(
                "[format]\n",
                &format!("[format]\n{settings}\n"),
                1,
            ))
        };
        let european = with("decimal_separator = \",\"").unwrap().dialect;
        assert_eq!(
            (european.decimal_separator, european.thousands_separator),
            (',', Some('.'))
        );
        let none = with("thousands_separator = \"\"").unwrap().dialect;
        assert_eq!(none.thousands_separator, None);
        for (settings, says) in [
            ("decimal_separator = \";\"", "must be \".\" or \",\""),
            ("thousands_separator = \"_\"", "must be one of"),
            (
                "decimal_separator = \",\"\nthousands_separator = \",\"",
                "must differ",
            ),
        ] {
            let error = with(settings).unwrap_err().to_string();
            assert!(error.contains(says), "{settings}: {error}");
        }
    }

    #[test]
    fn the_quality_gate_threshold_defaults_to_the_built_in_one_and_is_a_share() {
        let without = DEFAULT_CONTRACT.replace("[quality_gate]\nmax_reject_rate = 0.05\n", "");
        assert_ne!(without, DEFAULT_CONTRACT);
        assert_eq!(Contract::from_toml(&without).unwrap().max_reject_rate, 0.05);
        let own = DEFAULT_CONTRACT.replace("max_reject_rate = 0.05", "max_reject_rate = 0.2");
        assert_eq!(Contract::from_toml(&own).unwrap().max_reject_rate, 0.2);
        let bad = DEFAULT_CONTRACT.replace("max_reject_rate = 0.05", "max_reject_rate = 5.0");
        let error = Contract::from_toml(&bad).unwrap_err().to_string();
        assert!(error.contains("not a share between 0 and 1"), "{error}");
    }

    #[test]
    fn header_binds_by_name_case_and_space_insensitively() {
        let contract = Contract::default_sales();
        let header = [
            "Date",
            "price",
            "Quantity",
            "location",
            "CHANNEL",
            "Retailer Name",
            "retailer_id",
            "category",
            "brand",
            "Product Name",
            "ProductID",
            "\u{feff}Sale ID",
        ];
        let binding = contract.bind_header(header).unwrap();
        assert_eq!(binding.position(Field::SaleId), 11);
        assert_eq!(binding.position(Field::SaleDate), 0);
        assert_eq!(binding.position(Field::RetailerName), 5);
        assert_eq!(binding.width, 12);
    }

    #[test]
    fn header_missing_a_column_is_a_clear_error() {
        let contract = Contract::default_sales();
        let error = contract
            .bind_header(["SaleID", "ProductID", "Price"])
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("lacks the contract's column(s)"), "{text}");
        assert!(text.contains("Quantity"), "{text}");
    }

    #[test]
    fn header_naming_a_field_twice_is_ambiguous() {
        let contract = Contract::default_sales();
        let mut header = crate::generate::HEADER.to_vec();
        header.push("qty");
        assert!(matches!(
            contract.bind_header(header),
            Err(HeaderError::Ambiguous {
                field: Field::Quantity,
                ..
            })
        ));
    }

    #[test]
    fn empty_header_is_reported_as_empty_file() {
        let contract = Contract::default_sales();
        assert!(matches!(
            contract.bind_header([""]),
            Err(HeaderError::Empty)
        ));
    }

    fn with_replaced(from: &str, to: &str) -> Result<Contract, ContractError> {
        assert!(
            DEFAULT_CONTRACT.contains(from),
            "fixture text {from:?} not found"
        );
        Contract::from_toml(&DEFAULT_CONTRACT.replacen(from, to, 1))
    }

    #[test]
    fn contract_errors_are_specific() {
        let cases = [
            (
                "type = \"decimal\"",
                "type = \"text\"",
                "raw.sales.price is decimal",
            ),
            (
                "min = 1\n",
                "min = \"one\"\n",
                "does not fit field quantity",
            ),
            (
                "severity = \"reject\"\nmessage = \"quantity",
                "severity = \"maybe\"\nmessage = \"quantity",
                "unknown variant",
            ),
            (
                "max_record_lines = 20",
                "max_record_lines = 0",
                "at least 1",
            ),
            (
                "aliases = [\"qty\"]",
                "aliases = [\"sale_id\"]",
                "used by both sale_id and quantity",
            ),
            ("\"%Y/%m/%d\"", "\"%Y/%\"", "not a valid strftime pattern"),
            (
                "field = \"quantity\"\nheader = \"Quantity\"\naliases = [\"qty\"]\ntype = \"integer\"\nrequired = true",
                "field = \"quantity\"\nheader = \"Quantity\"\naliases = [\"qty\"]\ntype = \"integer\"\nrequired = false",
                "quantity must be required",
            ),
            (
                "field = \"channel\"\nheader = \"Channel\"\ntype = \"text\"\nrequired = true",
                "field = \"channel\"\nheader = \"Channel\"\ntype = \"text\"\nrequired = false",
                "channel must be required",
            ),
        ];
        for (from, to, expected) in cases {
            let error = match with_replaced(from, to) {
                Ok(_) => panic!("{from:?} -> {to:?} was accepted"),
                Err(error) => error.to_string(),
            };
            assert!(error.contains(expected), "{from:?} -> {to:?}: {error}");
        }
    }

    #[test]
    fn rules_are_typed_by_their_field() {
        let contract = Contract::default_sales();
        let check = |id: &str| {
            contract
                .rules
                .iter()
                .find(|rule| rule.id == id)
                .unwrap()
                .check
                .clone()
        };
        assert_eq!(
            check("quantity_positive"),
            Check::IntegerRange {
                min: Some(1),
                max: None
            }
        );
        assert_eq!(
            check("price_non_negative"),
            Check::DecimalRange {
                min: Some(Decimal::ZERO),
                max: None
            }
        );
        assert_eq!(
            check("channel_known"),
            Check::OneOf(vec!["Online".into(), "Offline".into()])
        );
    }
}
