//! salesflow: stream retail sales CSV files into a trustworthy PostgreSQL warehouse.
//!
//! The modules follow the data flow: [`read`] frames records from bytes, [`clean`] turns
//! a record into a typed sale or a reject as the [`contract`] says, [`load`] merges sales
//! into PostgreSQL, [`report`] counts outcomes; [`ingest`] runs that flow for one file.
//! [`replay`] judges quarantined rows again under another contract.
//! [`discover`] finds the new files of a landing directory and their feeds' contracts.
//! [`generate`] makes synthetic feeds; [`sniff`] proposes a contract for a new feed. Nothing
//! here prints to the terminal or exits the process: that is the binary's job.
//! [`quality_report`] renders the data-quality page (HTML) over a range of loads.

pub mod clean;
pub mod contract;
pub mod discover;
pub mod generate;
pub mod ingest;
pub mod load;
pub mod quality_report;
pub mod read;
pub mod replay;
pub mod report;
pub mod sniff;
