//! Framing CSV records line by line with `csv_core`, the `csv` crate's own state machine,
//! so that a record's raw text and first line are always known. That is what makes two
//! things possible that a plain CSV reader cannot do: quarantining a record with the exact
//! text it had, and recovering from an unbalanced quote. A quote that is never closed would
//! otherwise turn the rest of the file into one giant field; here a record that spans lines
//! and does not come out with the header's number of fields (or spans more than
//! `max_record_lines`, or runs into the end of the file, or has a later line shaped like a
//! whole record) gives up its first line as [`Item::Unframed`], and reading resumes on the
//! line after it.

use std::collections::VecDeque;
use std::io::{self, BufRead};

use crate::contract::Dialect;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// One CSV record: its fields (still bytes: UTF-8 is checked by the caller, so that
/// invalid bytes reject one row, not the file), its raw text and its first line.
#[derive(Debug)]
pub struct Record<'a> {
    /// 1-based physical line on which the record starts.
    pub line: u64,
    /// The record's text as in the file, without its line terminator.
    pub raw: &'a [u8],
    fields: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        Some(&self.fields[start..end])
    }

    /// All fields' bytes, one after the other, and where each field ends in them.
    pub fn fields(&self) -> (&'a [u8], &'a [usize]) {
        (
            &self.fields[..self.ends.last().copied().unwrap_or(0)],
            self.ends,
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(|index| self.get(index).expect("index in range"))
    }
}

/// What the reader found next.
#[derive(Debug)]
pub enum Item<'a> {
    Record(Record<'a>),
    /// A line that could not be framed as a record because of an unbalanced quote; the
    /// lines after it are read again as records of their own.
    Unframed {
        line: u64,
        raw: &'a [u8],
    },
}

/// A file's first record.
#[derive(Debug, PartialEq, Eq)]
pub enum Header {
    /// The column names, as text, and the header's line.
    Names { line: u64, names: Vec<String> },
    /// A quote in the header does not close on its line. The header's width is what
    /// recovers the data lines from an unbalanced quote, so a header spanning lines, or
    /// swallowing the lines after it, cannot be trusted: the file is refused.
    UnbalancedQuote { line: u64 },
}

/// Frames CSV records from a byte stream. The first record is the header.
pub struct RecordReader<R> {
    input: R,
    core: csv_core::Reader,
    delimiter: u8,
    max_record_lines: usize,
    /// The header's field count once read; multi-line records must match it.
    width: Option<usize>,
    next_line_number: u64,
    at_start: bool,
    /// Lines to read again before more input (after an unbalanced quote).
    pushed_back: VecDeque<(u64, Vec<u8>)>,
    line: Vec<u8>,
    line_number: u64,
    raw: Vec<u8>,
    /// Start of each physical line of the current record in `raw`, with its number.
    line_starts: Vec<(usize, u64)>,
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// How many of `ends` belong to the current record.
    record_ends: usize,
}

enum Framed {
    Record,
    Unframed,
    End,
}

impl<R: BufRead> RecordReader<R> {
    /// Frames `input`, written in `dialect`'s CSV syntax (its encoding is the opener's).
    pub fn new(input: R, max_record_lines: usize, dialect: &Dialect) -> RecordReader<R> {
        RecordReader {
            input,
            core: csv_core::ReaderBuilder::new()
                .delimiter(dialect.delimiter)
                .quote(dialect.quote)
                .escape(dialect.escape)
                .double_quote(dialect.escape.is_none())
                .build(),
            delimiter: dialect.delimiter,
            max_record_lines: max_record_lines.max(1),
            width: None,
            next_line_number: 1,
            at_start: true,
            pushed_back: VecDeque::new(),
            line: Vec::with_capacity(256),
            line_number: 0,
            raw: Vec::with_capacity(256),
            line_starts: Vec::new(),
            fields: vec![0; 256],
            ends: vec![0; 32],
            record_ends: 0,
        }
    }

    /// Reads the header record, or None for a file with no records at all. Later records
    /// spanning lines must have as many fields.
    pub fn read_header(&mut self) -> io::Result<Option<Header>> {
        let framed = self.frame()?;
        let Some(&(_, line)) = self.line_starts.first() else {
            return Ok(None);
        };
        let header = match framed {
            Framed::End => return Ok(None),
            Framed::Record if self.line_starts.len() == 1 => {
                let record = Record {
                    line,
                    raw: &self.raw,
                    fields: &self.fields,
                    ends: &self.ends[..self.record_ends],
                };
                let names: Vec<String> = record
                    .iter()
                    .map(|field| String::from_utf8_lossy(field).into_owned())
                    .collect();
                self.width = Some(names.len());
                Header::Names { line, names }
            }
            Framed::Record | Framed::Unframed => Header::UnbalancedQuote { line },
        };
        Ok(Some(header))
    }

    /// The next record or unframed line, or None at the end of the input.
    pub fn next_item(&mut self) -> io::Result<Option<Item<'_>>> {
        Ok(match self.frame()? {
            Framed::End => None,
            Framed::Record => {
                let (start, line) = self.line_starts[0];
                Some(Item::Record(Record {
                    line,
                    raw: trim_terminator(&self.raw[start..]),
                    fields: &self.fields,
                    ends: &self.ends[..self.record_ends],
                }))
            }
            Framed::Unframed => Some(Item::Unframed {
                line: self.line_starts[0].1,
                raw: trim_terminator(&self.raw),
            }),
        })
    }

    fn frame(&mut self) -> io::Result<Framed> {
        self.raw.clear();
        self.line_starts.clear();
        self.core.reset();
        let mut fields_len = 0;
        let mut ends_len = 0;
        loop {
            let have_line = self.next_line()?;
            if !have_line {
                if self.line_starts.is_empty() {
                    return Ok(Framed::End);
                }
                // End of input inside a record: a final line without a newline ends the
                // record, unless a quoted field is still open.
                let (complete, _) = self.feed(b"\n", &mut fields_len, &mut ends_len);
                if complete {
                    return Ok(self.finish(ends_len));
                }
                return Ok(self.unframe_first_line());
            }
            if self.line_starts.is_empty() {
                if self.at_start {
                    self.at_start = false;
                    if self.line.starts_with(UTF8_BOM) {
                        self.line.drain(..UTF8_BOM.len());
                    }
                }
                if trim_terminator(&self.line).is_empty() {
                    continue; // a blank line is no record
                }
            }
            if self.line_starts.len() == self.max_record_lines {
                let line = std::mem::take(&mut self.line);
                self.pushed_back.push_front((self.line_number, line));
                return Ok(self.unframe_first_line());
            }
            self.line_starts.push((self.raw.len(), self.line_number));
            self.raw.extend_from_slice(&self.line);
            let line = std::mem::take(&mut self.line);
            let (complete, consumed) = self.feed(&line, &mut fields_len, &mut ends_len);
            if complete {
                // Lines end at the record terminators (read_line), so a record can only
                // end with its line: what csv_core left unread is the line's terminator.
                debug_assert!(line[consumed..].iter().all(|&b| b == b'\r' || b == b'\n'));
                self.line = line;
                return Ok(self.finish(ends_len));
            }
            self.line = line;
        }
    }

    /// Feeds input to the CSV state machine; true (with the input consumed) when a record
    /// ended, false when it needs more input.
    fn feed(
        &mut self,
        mut input: &[u8],
        fields_len: &mut usize,
        ends_len: &mut usize,
    ) -> (bool, usize) {
        let total = input.len();
        loop {
            let (result, n_in, n_out, n_ends) = self.core.read_record(
                input,
                &mut self.fields[*fields_len..],
                &mut self.ends[*ends_len..],
            );
            input = &input[n_in..];
            *fields_len += n_out;
            *ends_len += n_ends;
            match result {
                csv_core::ReadRecordResult::InputEmpty => return (false, total),
                csv_core::ReadRecordResult::OutputFull => {
                    let grown = self.fields.len() * 2;
                    self.fields.resize(grown, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let grown = self.ends.len() * 2;
                    self.ends.resize(grown, 0);
                }
                csv_core::ReadRecordResult::Record => return (true, total - input.len()),
                csv_core::ReadRecordResult::End => return (false, total),
            }
        }
    }

    fn finish(&mut self, ends_len: usize) -> Framed {
        if let Some(width) = self.width {
            if self.line_starts.len() > 1
                && (ends_len != width || self.continuation_looks_like_a_record(width))
            {
                return self.unframe_first_line();
            }
        }
        self.record_ends = ends_len;
        Framed::Record
    }

    /// True when a line after the first of a multi-line record, split at delimiters with
    /// quotes ignored, has exactly a record's number of fields. A legitimate quoted
    /// newline continues a text; a line that has the shape of a whole record means the
    /// quote that spanned it was never meant to be closed there (two unbalanced quotes
    /// pairing up and hiding the records between them).
    fn continuation_looks_like_a_record(&self, width: usize) -> bool {
        (1..self.line_starts.len()).any(|index| {
            let start = self.line_starts[index].0;
            let end = self
                .line_starts
                .get(index + 1)
                .map_or(self.raw.len(), |(start, _)| *start);
            let line = trim_terminator(&self.raw[start..end]);
            memchr::memchr_iter(self.delimiter, line).count() + 1 == width
        })
    }

    /// Gives up the current record's first line and queues its other lines to be read
    /// again, in order, before any new input.
    fn unframe_first_line(&mut self) -> Framed {
        let first_end = self
            .line_starts
            .get(1)
            .map_or(self.raw.len(), |(start, _)| *start);
        for index in (1..self.line_starts.len()).rev() {
            let (start, number) = self.line_starts[index];
            let end = self
                .line_starts
                .get(index + 1)
                .map_or(self.raw.len(), |(start, _)| *start);
            self.pushed_back
                .push_front((number, self.raw[start..end].to_vec()));
        }
        self.raw.truncate(first_end);
        self.line_starts.truncate(1);
        Framed::Unframed
    }

    /// Loads the next physical line into `self.line`; false at the end of input.
    fn next_line(&mut self) -> io::Result<bool> {
        if let Some((number, line)) = self.pushed_back.pop_front() {
            self.line = line;
            self.line_number = number;
            return Ok(true);
        }
        self.line.clear();
        if !read_line(&mut self.input, &mut self.line)? {
            return Ok(false);
        }
        self.line_number = self.next_line_number;
        self.next_line_number += 1;
        Ok(true)
    }
}

/// Appends the next physical line to `line`, with its terminator: LF, CRLF or a bare CR
/// (old Mac files end every line with CR alone). False at the end of input.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<bool> {
    let mut any = false;
    loop {
        let buffer = match input.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if buffer.is_empty() {
            return Ok(any);
        }
        any = true;
        match memchr::memchr2(b'\n', b'\r', buffer) {
            None => {
                let n = buffer.len();
                line.extend_from_slice(buffer);
                input.consume(n);
            }
            Some(at) => {
                let ends_with_cr = buffer[at] == b'\r';
                line.extend_from_slice(&buffer[..=at]);
                input.consume(at + 1);
                if ends_with_cr {
                    // CRLF is one terminator, even when the LF is in the next buffer.
                    let next = input.fill_buf()?;
                    if next.first() == Some(&b'\n') {
                        line.push(b'\n');
                        input.consume(1);
                    }
                }
                return Ok(true);
            }
        }
    }
}

fn trim_terminator(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = bytes {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Seen {
        Record(u64, Vec<String>, String),
        Unframed(u64, String),
    }

    fn read_all(text: &[u8], max_lines: usize) -> Vec<Seen> {
        let mut reader = RecordReader::new(text, max_lines, &Dialect::default());
        let mut seen = Vec::new();
        match reader.read_header().unwrap() {
            Some(Header::Names { line, names }) => {
                seen.push(Seen::Record(line, names, String::new()))
            }
            Some(Header::UnbalancedQuote { line }) => {
                seen.push(Seen::Unframed(line, "header".into()));
                return seen;
            }
            None => {}
        }
        while let Some(item) = reader.next_item().unwrap() {
            seen.push(match item {
                Item::Record(record) => Seen::Record(
                    record.line,
                    record
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect(),
                    String::from_utf8_lossy(record.raw).into_owned(),
                ),
                Item::Unframed { line, raw } => {
                    Seen::Unframed(line, String::from_utf8_lossy(raw).into_owned())
                }
            });
        }
        seen
    }

    fn rec(line: u64, fields: &[&str], raw: &str) -> Seen {
        Seen::Record(
            line,
            fields.iter().map(|s| s.to_string()).collect(),
            raw.to_string(),
        )
    }

    fn header(fields: &[&str]) -> Seen {
        rec(1, fields, "")
    }

    #[test]
    fn plain_records_with_lines_and_raw_text() {
        let seen = read_all(b"a,b\n1,2\n3,4", 20);
        assert_eq!(
            seen,
            vec![
                header(&["a", "b"]),
                rec(2, &["1", "2"], "1,2"),
                rec(3, &["3", "4"], "3,4")
            ]
        );
    }

    #[test]
    fn bom_crlf_and_blank_lines() {
        let seen = read_all(b"\xEF\xBB\xBFa,b\r\n1,2\r\n\r\n3,4\r\n", 20);
        assert_eq!(
            seen,
            vec![
                header(&["a", "b"]),
                rec(2, &["1", "2"], "1,2"),
                rec(4, &["3", "4"], "3,4")
            ]
        );
    }

    #[test]
    fn quoted_fields_with_delimiters_quotes_and_newlines() {
        let seen = read_all(
            b"a,b\n\"x,y\",\"say \"\"hi\"\"\"\nz,\"two\nlines\"\n5,6\n",
            20,
        );
        assert_eq!(
            seen,
            vec![
                header(&["a", "b"]),
                rec(2, &["x,y", "say \"hi\""], "\"x,y\",\"say \"\"hi\"\"\""),
                rec(3, &["z", "two\nlines"], "z,\"two\nlines\""),
                rec(5, &["5", "6"], "5,6"),
            ]
        );
    }

    #[test]
    fn unbalanced_quote_gives_up_one_line_and_recovers_the_rest() {
        let seen = read_all(b"a,b\n1,\"oops\n2,3\n4,5\n", 20);
        assert_eq!(
            seen,
            vec![
                header(&["a", "b"]),
                Seen::Unframed(2, "1,\"oops".into()),
                rec(3, &["2", "3"], "2,3"),
                rec(4, &["4", "5"], "4,5"),
            ]
        );
    }

    #[test]
    fn unbalanced_quote_that_closes_later_is_caught_by_field_count() {
        // The quote opened on line 2 closes on line 3, making one record of 3 fields.
        let seen = read_all(b"a,b\n1,\"oops\n2,3\",x\n4,5\n", 20);
        assert_eq!(
            seen,
            vec![
                header(&["a", "b"]),
                Seen::Unframed(2, "1,\"oops".into()),
                rec(3, &["2", "3\"", "x"], "2,3\",x"),
                rec(4, &["4", "5"], "4,5"),
            ]
        );
    }

    #[test]
    fn two_unbalanced_quotes_do_not_pair_up_and_hide_the_lines_between() {
        let seen = read_all(b"a,b,c\n1,\"x,y\n2,3,4\n5,\"z,w\n6,7,8\n", 20);
        assert_eq!(
            seen,
            vec![
                rec(1, &["a", "b", "c"], ""),
                Seen::Unframed(2, "1,\"x,y".into()),
                rec(3, &["2", "3", "4"], "2,3,4"),
                Seen::Unframed(4, "5,\"z,w".into()),
                rec(5, &["6", "7", "8"], "6,7,8"),
            ]
        );
    }

    #[test]
    fn record_longer_than_the_line_limit_is_unframed() {
        let seen = read_all(b"a,b\n1,\"x\ny\nz\"\n4,5\n", 2);
        assert_eq!(seen[1], Seen::Unframed(2, "1,\"x".into()));
        assert_eq!(seen[2], Seen::Record(3, vec!["y".into()], "y".into()));
        assert_eq!(seen[3], Seen::Record(4, vec!["z\"".into()], "z\"".into()));
        assert_eq!(seen[4], rec(5, &["4", "5"], "4,5"));
    }

    #[test]
    fn open_quote_on_the_last_line_is_unframed() {
        let seen = read_all(b"a,b\n1,2\n3,\"4", 20);
        assert_eq!(seen[2], Seen::Unframed(3, "3,\"4".into()));
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn wrong_field_count_on_one_line_is_still_a_record() {
        let seen = read_all(b"a,b\n1,2,3\n4\n", 20);
        assert_eq!(seen[1], rec(2, &["1", "2", "3"], "1,2,3"));
        assert_eq!(seen[2], rec(3, &["4"], "4"));
    }

    #[test]
    fn bare_carriage_returns_end_lines() {
        let seen = read_all(b"a,b\r1,2\r3,4\r", 20);
        assert_eq!(
            seen,
            vec![
                header(&["a", "b"]),
                rec(2, &["1", "2"], "1,2"),
                rec(3, &["3", "4"], "3,4")
            ]
        );
        // Mixed terminators: each one ends a line and counts.
        let seen = read_all(b"a,b\n1,2\r3,4\r\n5,6\n", 20);
        let lines: Vec<u64> = seen[1..]
            .iter()
            .map(|seen| match seen {
                Seen::Record(line, ..) | Seen::Unframed(line, _) => *line,
            })
            .collect();
        assert_eq!(lines, [2, 3, 4]);
    }

    #[test]
    fn crlf_split_across_buffers_is_one_terminator() {
        let text = b"a,b\r\n1,2\r\n\r\n3,\"x\r\ny\"\r\n";
        let expected = read_all(text, 20);
        assert_eq!(expected[2], rec(4, &["3", "x\r\ny"], "3,\"x\r\ny\""));
        for capacity in 1..=text.len() {
            let mut reader = RecordReader::new(
                io::BufReader::with_capacity(capacity, &text[..]),
                20,
                &Dialect::default(),
            );
            reader.read_header().unwrap();
            let mut lines = Vec::new();
            while let Some(item) = reader.next_item().unwrap() {
                if let Item::Record(record) = item {
                    lines.push((record.line, record.raw.to_vec()));
                }
            }
            assert_eq!(
                lines,
                [(2, b"1,2".to_vec()), (4, b"3,\"x\r\ny\"".to_vec())],
                "buffer of {capacity} bytes"
            );
        }
    }

    #[test]
    fn a_header_with_an_unbalanced_quote_is_refused() {
        // The quote pairs up with one three lines later: the header would swallow them.
        let swallowing = b"a,b,\"c\n1,2,3\n4,5,6\n7,8,\"x\"\n9,10,11\n";
        assert_eq!(
            read_all(swallowing, 20),
            [Seen::Unframed(1, "header".into())]
        );
        // Never closed: the header must not be dropped for the next line to take its place.
        assert_eq!(
            read_all(b"\n\"a,b,c\n1,2,3\n", 20),
            [Seen::Unframed(2, "header".into())]
        );
        // A quoted header on one line is fine.
        assert_eq!(
            read_all(b"\"a\",\"b, c\"\n1,2\n", 20)[0],
            header(&["a", "b, c"])
        );
    }

    #[test]
    fn empty_input_has_no_header() {
        let mut reader = RecordReader::new(&b""[..], 20, &Dialect::default());
        assert!(reader.read_header().unwrap().is_none());
        let mut reader = RecordReader::new(&b"\n\n"[..], 20, &Dialect::default());
        assert!(reader.read_header().unwrap().is_none());
    }

    #[test]
    fn invalid_utf8_is_passed_through_as_bytes() {
        let seen = {
            let mut reader = RecordReader::new(&b"a,b\n\xff\xfe,2\n"[..], 20, &Dialect::default());
            reader.read_header().unwrap();
            match reader.next_item().unwrap().unwrap() {
                Item::Record(record) => record.get(0).unwrap().to_vec(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(seen, b"\xff\xfe");
    }
}
