//! Bytes to records: finding and opening files ([`files`]: paths, directories and globs,
//! plain or gzip, their SHA-256), and framing CSV records with exact source line numbers
//! ([`frame`]).
//!
//! This module knows nothing of the contract's meaning or of PostgreSQL.

mod files;
mod frame;

pub use files::{FileDigest, ReadError, Source, digest_file, expand_paths, is_csv_name, open};
pub use frame::{Header, Item, Record, RecordReader};
