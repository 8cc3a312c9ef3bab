//! The key table's rows of a file's new sales, spooled while the file is copied.
//!
//! On the append path every valid sale is new, and each one's key (sale id, date, content
//! hash, load) goes to `raw.sale_keys`. Selecting the keys back from the landing table reads
//! every landed row a second time and inserts them one by one; the loader already holds each
//! key as the row streams past, so it writes them as binary COPY tuples to an anonymous
//! temporary file (46 bytes a sale, on disk, not in memory) and sends them to the key table
//! in one narrow COPY (bench/README.md has the figures).
//!
//! Keys are spooled only while the file's valid sale ids come strictly increasing, the append
//! path's own condition: once they do not, the file takes the merge path, which classifies
//! its keys on the server, and the spool is dropped. A spool that cannot be written is
//! dropped too, and the keys are then selected from the landing table as before.

use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::time::Instant;

use postgres::Transaction;

use super::LoadError;
use super::copy::{self, SaleKey};

pub(super) struct KeySpool {
    file: BufWriter<File>,
    load_id: i64,
    last_sale_id: Option<i64>,
    row: Vec<u8>,
    keys: u64,
}

impl KeySpool {
    /// A spool in a new anonymous temporary file; None when none can be created.
    pub(super) fn new(load_id: i64) -> Option<KeySpool> {
        match tempfile::tempfile() {
            Ok(file) => Some(KeySpool {
                file: BufWriter::with_capacity(1 << 18, file),
                load_id,
                last_sale_id: None,
                row: Vec::with_capacity(64),
                keys: 0,
            }),
            Err(error) => {
                tracing::warn!(%error, "no temporary file for the sale keys; the server will select them");
                None
            }
        }
    }

    /// Adds a valid sale's key. False when the spool is of no further use: the sale ids
    /// stopped increasing, or the file could not be written.
    pub(super) fn push(&mut self, key: &SaleKey) -> bool {
        if self.last_sale_id.is_some_and(|last| key.sale_id <= last) {
            return false;
        }
        self.last_sale_id = Some(key.sale_id);
        self.row.clear();
        key.write_binary(&mut self.row, self.load_id);
        self.keys += 1;
        match self.file.write_all(&self.row) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "could not spool the sale keys; the server will select them");
                false
            }
        }
    }

    /// Copies the spooled keys, in sale id order, into `raw.sale_keys`. `frozen` when the
    /// key table was truncated in this transaction: the rows are then written frozen and
    /// their pages all-visible, so the vacuum after the load finds nothing left to do there
    /// (0.4 s for 5M keys otherwise), and no later anti-wraparound vacuum rewrites them. Only
    /// loads, under the load lock, read the key table, so that these rows are visible to
    /// snapshots older than the load's commit harms no reader.
    pub(super) fn copy_into_key_table(
        self,
        transaction: &mut Transaction<'_>,
        frozen: bool,
    ) -> Result<u64, LoadError> {
        let started = Instant::now();
        let mut file = self
            .file
            .into_inner()
            .map_err(|error| LoadError::Copy(error.into_error()))?;
        file.rewind().map_err(LoadError::Copy)?;
        let writer = transaction
            .copy_in(&format!(
                "copy raw.sale_keys ({}) from stdin (format binary{})",
                copy::KEY_COLUMNS,
                if frozen { ", freeze" } else { "" }
            ))
            .map_err(|source| LoadError::database("starting COPY of sale keys", source))?;
        // In large messages, as the landing COPY sends its rows.
        let mut writer = BufWriter::with_capacity(1 << 18, writer);
        writer
            .write_all(copy::BINARY_HEADER)
            .and_then(|()| io::copy(&mut file, &mut writer))
            .and_then(|_| writer.write_all(copy::BINARY_TRAILER))
            .map_err(LoadError::Copy)?;
        let rows = writer
            .into_inner()
            .map_err(|error| LoadError::Copy(error.into_error()))?
            .finish()
            .map_err(|source| LoadError::database("finishing COPY of sale keys", source))?;
        debug_assert_eq!(rows, self.keys);
        tracing::debug!(
            step = "copying spooled sale keys",
            rows,
            ms = started.elapsed().as_millis() as u64,
            "merge step"
        );
        Ok(rows)
    }
}
